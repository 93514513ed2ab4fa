// Runs the real sidecar entry point (src/main.ts) in a child process, for
// tests that kill it. TypeScript is transpiled on load (no type check, no
// build step), so the test works from a clean clone.
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      resolveJsonModule: true
    }
  });
  module._compile(outputText, filename);
};

require(path.join(__dirname, '..', '..', 'src', 'main.ts'));
