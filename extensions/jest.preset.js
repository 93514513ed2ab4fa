/*
 * The one jest setup for Insighter's extension packages.
 *
 * JupyterLab's packages and some of their dependencies ship only ES modules
 * (@jupyterlab/translation, @jupyter/web-components, @microsoft/fast-*,
 * @jupyter/ydoc, lib0, …): jest compiles those like our TypeScript and uses
 * the rest of node_modules as shipped. Insighter's own packages are taken
 * from their sources, so the tests need no prior build. Packages that render
 * widgets (`dom: true`) share the shell's jsdom shims and asset stubs.
 */
const path = require('path');

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

const shellTest = path.join(__dirname, 'shell', 'test');

function sourcesOf(name) {
  return name === 'registry'
    ? path.join(__dirname, '..', 'registry', 'src', 'index.ts')
    : path.join(__dirname, name, 'src', 'index.ts');
}

/**
 * @param {{insighter?: string[], dom?: boolean, testTimeout?: number}} options
 *   insighter: the `@insighter/*` packages to map to their sources;
 *   dom: stub styles and icons and install the jsdom shims.
 */
module.exports = function extensionJestConfig({
  insighter = [],
  dom = false,
  testTimeout = 20000
} = {}) {
  const moduleNameMapper = {};
  for (const name of insighter) {
    moduleNameMapper[`^@insighter/${name}$`] = sourcesOf(name);
  }
  const transform = {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
    '^.+\\.m?js$': [
      'ts-jest',
      { tsconfig: '<rootDir>/tsconfig.test-js.json', diagnostics: false }
    ]
  };
  const config = {
    testEnvironment: 'node',
    testMatch: ['<rootDir>/test/**/*.spec.ts?(x)'],
    moduleNameMapper,
    transform,
    transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
    testTimeout
  };
  if (dom) {
    moduleNameMapper['\\.css$'] = path.join(shellTest, 'style-stub.ts');
    config.transform = {
      '\\.svg$': path.join(shellTest, 'svg-transform.js'),
      ...transform
    };
    config.setupFiles = [path.join(shellTest, 'jsdom-setup.ts')];
  }
  return config;
};
