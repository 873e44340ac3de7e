import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { RateLimits } from './rate-limits.service.js';

/**
 * Runs after the remote-cluster guard has authenticated the caller: each remote has RATE_LIMIT_REMOTE_REQUESTS
 * requests per RATE_LIMIT_REMOTE_WINDOW_MS on the server-to-server routes, then 429 with Retry-After (which our own
 * sender, and Mattermost's, treat as "try again later"). Keyed by the authenticated id, so nobody can use up
 * another remote's budget.
 */
@Injectable()
export class RemoteRequestRateLimitGuard implements CanActivate {
  constructor(private readonly limits: RateLimits) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const remote = context.switchToHttp().getRequest<{ remote?: { remoteId: string } }>().remote;
    if (!remote) return true; // no authenticated remote: the route's own guard has refused it already
    await this.limits.consume(this.limits.remoteRequests, remote.remoteId);
    return true;
  }
}
