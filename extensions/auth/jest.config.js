/*
 * JupyterLab's packages ship ES modules; they are compiled for jest like our
 * TypeScript, everything else in node_modules is used as shipped.
 * `@insighter/core` is taken from its sources so the tests need no prior build.
 * The session tests start the real sidecar from `server/lib` (build it first:
 * `npx tsc -b server`).
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
    '^@insighter/core$': '<rootDir>/../core/src/index.ts'
  },
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
    '^.+\\.m?js$': [
      'ts-jest',
      { tsconfig: '<rootDir>/tsconfig.test-js.json', diagnostics: false }
    ]
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
  testTimeout: 60000
};
