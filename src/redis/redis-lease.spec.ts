import { Redis } from 'ioredis';
import { acquireLease } from './redis-lease.js';

/** Against the real local Redis, under a key prefix of its own. */
describe('acquireLease', () => {
  let redis: Redis;
  const prefix = `lease-spec-${process.pid}-${Date.now()}:`;

  beforeAll(() => {
    redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { keyPrefix: prefix });
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys.map((k) => k.slice(prefix.length)));
    await redis.quit();
  });

  it('is exclusive until released, then free again', async () => {
    const first = await acquireLease(redis, 'a', 5_000);
    expect(first).not.toBeNull();
    expect(await acquireLease(redis, 'a', 5_000)).toBeNull();
    await first!.release();
    const again = await acquireLease(redis, 'a', 5_000);
    expect(again).not.toBeNull();
    await again!.release();
  });

  it('is renewed while held, past its time-to-live', async () => {
    // 2 s lease, renewed every ~667 ms. After 1.5 s an unrenewed key would have at most 500 ms left; a renewed
    // one has more than 1 s. (Margins wide enough for a busy 2-core CI machine, where a 300 ms lease flaked.)
    const lease = await acquireLease(redis, 'b', 2_000);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await redis.pttl('b')).toBeGreaterThan(600);
    expect(await acquireLease(redis, 'b', 2_000)).toBeNull();
    await lease!.release();
    expect(await redis.exists('b')).toBe(0);
  });

  it('a holder whose lease expired and went to another does not release the new holder', async () => {
    const token = 'someone-else';
    await redis.set('c', token, 'PX', 5_000);
    const mine = await acquireLease(redis, 'c', 5_000);
    expect(mine).toBeNull();
    await redis.del('c');
    const lease = await acquireLease(redis, 'c', 5_000);
    await redis.set('c', token, 'PX', 5_000); // as if ours had expired and another replica took it
    await lease!.release();
    expect(await redis.get('c')).toBe(token);
  });
});
