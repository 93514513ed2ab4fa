// The session tests start the real sidecar from `server/lib` (build it
// first: `npx tsc -b server`; `npm test` does).
module.exports = require('../jest.preset')({
  insighter: ['core'],
  testTimeout: 60000
});
