import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { AuthenticatedRequest } from './auth-context.js';
import { AuthErrors } from './auth.errors.js';
import { extractRemoteCredentials } from './request-token.js';

/**
 * Looks up a non-deleted remote cluster and compares its `token` in constant time.
 * Provided by the remote-cluster module, which owns the records; a module that uses
 * @RemoteClusterAuth() without providing it fails at boot, not at the first request.
 */
export interface RemoteClusterTokenVerifier {
  verify(remoteId: string, token: string): Promise<boolean>;
}
export const REMOTE_CLUSTER_TOKEN_VERIFIER = Symbol('REMOTE_CLUSTER_TOKEN_VERIFIER');

/** Server-to-server calls: X-MM-RemoteCluster-Id/-Token or Mattermost's X-RemoteCluster-Id/-Token. */
@Injectable()
export class RemoteClusterAuthGuard implements CanActivate {
  constructor(@Inject(REMOTE_CLUSTER_TOKEN_VERIFIER) private readonly verifier: RemoteClusterTokenVerifier) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request & AuthenticatedRequest>();
    const { remoteId, token } = extractRemoteCredentials(req.headers);
    if (!token) throw AuthErrors.sessionExpired();
    if (!remoteId) throw AuthErrors.remoteIdMissing();
    if (remoteId.length > 64 || token.length > 128 || !(await this.verifier.verify(remoteId, token))) {
      throw AuthErrors.remoteTokenInvalid();
    }
    req.remote = { remoteId };
    return true;
  }
}
