// Jest's node environment, plus PGlite loaded outside the test sandbox.
// PGlite loads its WASM runtime with dynamic import(), which the sandbox
// refuses unless node runs with --experimental-vm-modules; loaded here, in
// the outer context, it works however jest is started. Test code gets this
// module through moduleNameMapper (pglite-outside-sandbox.js).
const { TestEnvironment } = require('jest-environment-node');

class PgliteEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.global.__insighterPglite = require('@electric-sql/pglite');
  }
}

module.exports = PgliteEnvironment;
