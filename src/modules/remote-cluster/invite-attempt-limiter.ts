import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { REDIS_CLIENT } from '../../redis/redis.module.js';

/** Failed accept_invite attempts allowed per client and window; a password is then no longer guessable online. */
export const INVITE_ATTEMPTS_PER_WINDOW = 10;
export const INVITE_ATTEMPT_WINDOW_MS = 15 * 60 * 1000;

const DECR_IF_EXISTS = `if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end return 0`;

/**
 * Limits invitation attempts per client address, across replicas (Redis). An attempt is counted when it starts,
 * so a burst of parallel guesses cannot all slip past the check, and handed back when it succeeds.
 */
@Injectable()
export class InviteAttemptLimiter {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  private key(client: string): string {
    return `ratelimit:accept_invite:${client}`;
  }

  /** Counts an attempt; false when the client has used up its window (the attempt must then be refused). */
  async begin(client: string): Promise<boolean> {
    const key = this.key(client);
    // SET NX starts the window with the first attempt; INCR then counts within it.
    const results = await this.redis.multi().set(key, '0', 'PX', INVITE_ATTEMPT_WINDOW_MS, 'NX').incr(key).exec();
    const count = Number(results?.[1]?.[1] ?? 0);
    return count <= INVITE_ATTEMPTS_PER_WINDOW;
  }

  /** An attempt that opened the invite does not count against the client (unless its window already ended). */
  async succeeded(client: string): Promise<void> {
    await this.redis.eval(DECR_IF_EXISTS, 1, this.key(client));
  }
}
