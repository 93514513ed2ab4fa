/*
 * JupyterLab's packages and some of their dependencies ship only ES modules:
 * jest compiles those like our TypeScript and uses the rest of node_modules
 * as shipped. Insighter's own packages are taken from their sources, so the
 * tests need no prior build.
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
    '^@insighter/shell$': '<rootDir>/../shell/src/index.ts',
    '^@insighter/registry$': '<rootDir>/../../registry/src/index.ts',
    '\\.css$': '<rootDir>/../shell/test/style-stub.ts'
  },
  transform: {
    '\\.svg$': '<rootDir>/../shell/test/svg-transform.js',
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
    '^.+\\.m?js$': [
      'ts-jest',
      { tsconfig: '<rootDir>/tsconfig.test-js.json', diagnostics: false }
    ]
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
  // The shell's jsdom shims and asset stubs serve every extension's tests.
  setupFiles: ['<rootDir>/../shell/test/jsdom-setup.ts'],
  testTimeout: 30000
};
