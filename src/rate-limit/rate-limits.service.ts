import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../common/app-error.js';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { REDIS_CLIENT } from '../redis/redis.module.js';

/** One kind of counted thing: requests of a remote, failed logins of an address, ... */
export interface Limit {
  readonly name: string;
  readonly limiter: RateLimiterRedis;
  /** The AppError (429) a caller over this limit gets; its Retry-After is filled in. */
  readonly refusal: (retryAfterSeconds: number) => AppError;
}

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/**
 * Every rate limit of the server, counted in Redis with rate-limiter-flexible (fixed windows, one atomic script per
 * check), so the replicas of a server share the counts. Keys live under the instance's Redis prefix. Should Redis be
 * unreachable, each replica counts in its own memory meanwhile (the limits then hold per replica) rather than
 * refusing everything or nothing.
 *
 * - `remoteRequests`: requests of one remote to the server-to-server routes (per remote id, after authentication).
 * - `loginFailuresByAddress`, `loginFailuresByAccount`: failed logins per client address and per login id.
 * - `inviteFailuresByAddress`: failed invitation acceptances per client address.
 *
 * Failure limits count an attempt when it starts (so a burst of parallel guesses cannot all pass the check) and hand
 * the point back when it succeeds.
 */
@Injectable()
export class RateLimits {
  private readonly logger = new Logger(RateLimits.name);
  readonly remoteRequests: Limit;
  readonly loginFailuresByAddress: Limit;
  readonly loginFailuresByAccount: Limit;
  readonly inviteFailuresByAddress: Limit;

  constructor(@Inject(REDIS_CLIENT) redis: Redis, @Inject(APP_CONFIG) config: AppConfig) {
    const { limits } = config;
    const make = (name: string, points: number, windowMs: number, refusal: Limit['refusal']): Limit => {
      const duration = seconds(windowMs);
      return {
        name,
        refusal,
        limiter: new RateLimiterRedis({
          storeClient: redis,
          keyPrefix: `ratelimit:${name}`,
          points,
          duration,
          rejectIfRedisNotReady: true,
          insuranceLimiter: new RateLimiterMemory({ keyPrefix: `ratelimit:${name}`, points, duration }),
        }),
      };
    };
    const tooMany = (retry: number) => new AppError('api.context.rate_limited.app_error', 'Too many requests, please try again later.', 429, '', retry);
    this.remoteRequests = make('remote', limits.remoteRequests, limits.remoteWindowMs, tooMany);
    this.loginFailuresByAddress = make('login-address', limits.loginFailuresPerAddress, limits.failureWindowMs, tooMany);
    this.loginFailuresByAccount = make('login-account', limits.loginFailuresPerAccount, limits.failureWindowMs, (retry) =>
      new AppError(
        'api.user.check_user_login_attempts.too_many.app_error',
        'Your account is locked because of too many failed password attempts; try again later.',
        429,
        '',
        retry,
      ),
    );
    this.inviteFailuresByAddress = make('invite-address', limits.inviteFailuresPerAddress, limits.failureWindowMs, (retry) =>
      new AppError('api.remote_cluster.accept_invite.rate_limited.app_error', 'Too many failed invitation attempts; try again later.', 429, '', retry),
    );
  }

  /** Counts one for `key`; throws the limit's 429 (with Retry-After) when the window is used up. */
  async consume(limit: Limit, key: string): Promise<void> {
    try {
      await limit.limiter.consume(key);
    } catch (res) {
      if (res instanceof RateLimiterRes) throw limit.refusal(seconds(res.msBeforeNext));
      throw res;
    }
  }

  /** Hands back the point of an attempt that succeeded. */
  async refund(limit: Limit, key: string): Promise<void> {
    await limit.limiter.reward(key, 1).catch((err: unknown) => this.logger.warn({ err, limit: limit.name }, 'could not refund a rate-limit point'));
  }

  /**
   * Runs `attempt` as one counted try against every (limit, key) given: refused with 429 when any is used up, its
   * points handed back when it succeeds, kept when it throws.
   */
  async attempt<T>(counted: Array<[Limit, string]>, attempt: () => Promise<T>): Promise<T> {
    for (const [limit, key] of counted) await this.consume(limit, key);
    const result = await attempt();
    await Promise.all(counted.map(([limit, key]) => this.refund(limit, key)));
    return result;
  }
}
