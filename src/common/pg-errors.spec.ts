import { toAppError } from './app-error.filter.js';
import { isDatabaseUnavailable } from './pg-errors.js';

describe('a database that is out of reach', () => {
  const unavailable = [
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    new Error('Connection terminated unexpectedly'),
    Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
    Object.assign(new Error('connection failure'), { code: '08006' }),
    // TypeORM's QueryFailedError carries the driver's error.
    Object.assign(new Error('query failed'), { driverError: Object.assign(new Error('Connection terminated unexpectedly'), {}) }),
  ];

  it.each(unavailable.map((e) => [e.message, e]))('is recognised: %s', (_m, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it('is answered 503 with Retry-After, not 500', () => {
    for (const err of unavailable) {
      const app = toAppError(err);
      expect(app.statusCode).toBe(503);
      expect(app.retryAfterSeconds).toBeGreaterThan(0);
    }
  });

  it('leaves other errors alone', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
    expect(isDatabaseUnavailable(new Error('something else'))).toBe(false);
    expect(toAppError(new Error('something else')).statusCode).toBe(500);
  });
});
