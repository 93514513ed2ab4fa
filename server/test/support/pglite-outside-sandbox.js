// See pglite-environment.js: the PGlite module as loaded outside the sandbox.
module.exports = globalThis.__insighterPglite;
