/*
 * JupyterLab ships some packages as ES modules only: jest compiles those
 * like our TypeScript and uses the rest of node_modules as shipped.
 */
const esmPackages = [
  '@jupyter',
  '@jupyterlab',
  '@lumino',
  'lib0',
  'y-protocols',
  'yjs'
];

module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
    '^.+\\.m?js$': [
      'ts-jest',
      { tsconfig: '<rootDir>/tsconfig.test-js.json', diagnostics: false }
    ]
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
  testTimeout: 20000
};
