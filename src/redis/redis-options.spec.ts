import { loadConfig } from '../config/load-config.js';
import { redisOptions } from './redis-options.js';

describe('redisOptions', () => {
  it('takes host, port, credentials and database from REDIS_URL', () => {
    const config = loadConfig({ REDIS_URL: 'redis://user:s%40cret@10.0.0.5:6380/2' });
    expect(redisOptions(config.redis)).toMatchObject({ host: '10.0.0.5', port: 6380, username: 'user', password: 's@cret', db: 2 });
    expect(redisOptions(config.redis).sentinels).toBeUndefined();
  });

  it('with REDIS_SENTINELS asks the sentinels for the primary and keeps the credentials of REDIS_URL', () => {
    const config = loadConfig({
      REDIS_URL: 'redis://:pw@ignored:6379/1',
      REDIS_SENTINELS: 'sentinel-1:26379,10.0.0.7:26380,[::1]:26381',
      REDIS_SENTINEL_NAME: 'mmfed-primary',
      REDIS_SENTINEL_PASSWORD: 'sentinel-pw',
    });
    const options = redisOptions(config.redis);
    expect(options).toMatchObject({
      sentinels: [
        { host: 'sentinel-1', port: 26379 },
        { host: '10.0.0.7', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      name: 'mmfed-primary',
      sentinelPassword: 'sentinel-pw',
      password: 'pw',
      db: 1,
    });
    expect(options.host).toBeUndefined();
    expect(options.port).toBeUndefined();
  });

  it('refuses a sentinel list that is not host:port pairs, and accepts a Redis Cluster hash tag in QUEUE_PREFIX', () => {
    expect(() => loadConfig({ REDIS_SENTINELS: 'sentinel-1' })).toThrow(/REDIS_SENTINELS/);
    expect(loadConfig({ QUEUE_PREFIX: '{mmfed}' }).redis.queuePrefix).toBe('{mmfed}');
  });

  it('reads the shutdown drain settings', () => {
    expect(loadConfig({}).shutdown).toEqual({ drainMs: 5_000, timeoutMs: 30_000 });
    expect(loadConfig({ SHUTDOWN_DRAIN_MS: '0', SHUTDOWN_TIMEOUT_MS: '2000' }).shutdown).toEqual({ drainMs: 0, timeoutMs: 2_000 });
    expect(() => loadConfig({ SHUTDOWN_DRAIN_MS: '-1' })).toThrow(/SHUTDOWN_DRAIN_MS/);
  });
});
