// Read at run time so the compiled output does not embed a stale copy.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const VERSION: string = require('../package.json').version;
