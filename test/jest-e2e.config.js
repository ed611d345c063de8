// End-to-end tests: real HTTP, real PostgreSQL and PGlite (and later RabbitMQ).
module.exports = {
  rootDir: '..',
  roots: ['<rootDir>/test'],
  testRegex: '.*\\.e2e-spec\\.ts$',
  transform: { '^.+\\.ts$': 'ts-jest' },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testEnvironment: 'node',
  // The client (client/src) is ESM, whose relative imports end in .js.
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // ESM only, exported for `import` alone, which Jest's resolver does not ask for.
    '^kubernetes-models/(.*)$': '<rootDir>/node_modules/kubernetes-models/$1/index.js',
  },
  setupFiles: ['reflect-metadata'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 30000,
};
