import { Global, Module } from '@nestjs/common';
import { RateLimits } from './rate-limits.service.js';
import { RemoteRequestRateLimitGuard } from './remote-request-rate-limit.guard.js';

/** Rate limits shared by the replicas through Redis; global, like the Redis connection it counts in. */
@Global()
@Module({ providers: [RateLimits, RemoteRequestRateLimitGuard], exports: [RateLimits, RemoteRequestRateLimitGuard] })
export class RateLimitModule {}
