/**
 * Fault-injection suite (`npm run test:chaos`): real Temporal dev server and real S3 server, workers as
 * child processes killed with SIGKILL, servers restarted mid-cycle. Files are `test/chaos/*.chaos.ts`
 * (never matched by `npm test`). Needs `npm run build` first (the script does it).
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: '<rootDir>/test/support/jest-environment.js',
  roots: ['<rootDir>/test/chaos'],
  testMatch: ['**/*.chaos.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] },
  globalSetup: '<rootDir>/test/chaos/global-setup.ts',
  globalTeardown: '<rootDir>/test/chaos/global-teardown.ts',
  testTimeout: 300000,
  maxWorkers: 1,
};
