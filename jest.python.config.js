/**
 * Tests that need the reference Python trainer's venv (`npm run test:python` runs them after pytest,
 * with LOOPKEEPER_PYTHON_VENV set): `test/python/*.test.ts`, never matched by `npm test`.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: '<rootDir>/test/support/jest-environment.js',
  roots: ['<rootDir>/test/python'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 900000,
  maxWorkers: 1,
};
