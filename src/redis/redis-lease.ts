import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

// Delete / extend only while the key still holds our token: a lease that expired and went to someone else is
// never touched.
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

export interface Lease {
  release(): Promise<void>;
}

/**
 * An exclusive lease on a name, shared by every replica on the same Redis: SET NX with a time-to-live, renewed
 * while held (every third of it), released by compare-and-delete. A replica that dies holding one loses it after
 * `ttlMs`. null when someone else holds it.
 */
export async function acquireLease(redis: Redis, key: string, ttlMs: number): Promise<Lease | null> {
  const token = randomBytes(12).toString('hex');
  if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') return null;
  const timer = setInterval(() => {
    redis.eval(RENEW, 1, key, token, String(ttlMs)).catch(() => undefined);
  }, Math.max(100, Math.floor(ttlMs / 3)));
  timer.unref();
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
    },
  };
}
