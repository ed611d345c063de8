// The reliability suite (npm run test:reliability): the e2e set-up, for the fault tests in
// test/reliability/. Sequential (--runInBand): broker faults touch every connection.
const e2e = require('../jest-e2e.config.js');

module.exports = {
  ...e2e,
  rootDir: '../..', // relative to this file
  roots: ['<rootDir>/test/reliability'],
  testRegex: '.*\\.reliability-spec\\.ts$',
  testTimeout: 180000,
};
