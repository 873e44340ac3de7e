// `npm run test:infra`: the load-balancer and infrastructure-fault tests (test/infra/*.infra-spec.ts). They start
// their own PostgreSQL and Redis and restart them, so they run alone, one file at a time, after `npm test`.
import base from '../../jest.config.js';

export default {
  ...base,
  rootDir: '../..',
  testMatch: ['<rootDir>/test/infra/**/*.infra-spec.ts'],
  globalSetup: undefined,
  globalTeardown: undefined,
  maxWorkers: 1,
  testTimeout: 300_000,
};
