/*
 * Some of JupyterLab's packages and their dependencies ship only ES modules
 * (@jupyterlab/translation, @jupyter/web-components, @microsoft/fast-*,
 * @jupyter/ydoc, lib0, …): jest compiles those like our TypeScript and uses
 * the rest of node_modules as shipped. `@insighter/core` is taken from its
 * sources, so the tests need no prior build.
 */
const esmPackages = [
  '@jupyter',
  '@jupyterlab',
  '@lumino',
  '@microsoft',
  'exenv-es6',
  'lib0',
  'y-protocols',
  'yjs'
];

module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.spec.ts?(x)'],
  moduleNameMapper: {
    '^@insighter/core$': '<rootDir>/../core/src/index.ts',
    '^@insighter/registry$': '<rootDir>/../../registry/src/index.ts',
    '\\.css$': '<rootDir>/test/style-stub.ts'
  },
  transform: {
    '\\.svg$': '<rootDir>/test/svg-transform.js',
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
    '^.+\\.m?js$': [
      'ts-jest',
      { tsconfig: '<rootDir>/tsconfig.test-js.json', diagnostics: false }
    ]
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
  setupFiles: ['<rootDir>/test/jsdom-setup.ts'],
  testTimeout: 20000
};
