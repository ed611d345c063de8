// Unit tests: pure logic beside the code (src/ and client/src/ *.spec.ts), no services needed.
module.exports = {
  roots: ['<rootDir>/src', '<rootDir>/client/src'],
  testRegex: '.*\\.spec\\.ts$',
  transform: { '^.+\\.ts$': 'ts-jest' },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testEnvironment: 'node',
  // The client is ESM, whose relative imports end in .js.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  setupFiles: ['reflect-metadata'],
};
