import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { AuthenticatedRequest } from './auth-context.js';
import { AuthErrors } from './auth.errors.js';
import { extractRemoteCredentials } from './request-token.js';

/**
 * What a server-to-server route accepts. `connection`: the token of a confirmed, live connection (every route
 * but one). `invitation`: also the token of a pending record, i.e. the one in an invite code; only
 * /confirm_invite takes it, and that handler refuses an expired invite.
 */
export type RemoteAuthScope = 'connection' | 'invitation';
export const REMOTE_AUTH_SCOPE = 'auth:remote-scope';

/**
 * Looks up a non-deleted remote cluster and compares the hash of the presented token with the stored one in
 * constant time. Provided by the remote-cluster module, which owns the records; a module that uses
 * @RemoteClusterAuth() without providing it fails at boot, not at the first request.
 */
export interface RemoteClusterTokenVerifier {
  verify(remoteId: string, token: string, scope: RemoteAuthScope): Promise<boolean>;
}
export const REMOTE_CLUSTER_TOKEN_VERIFIER = Symbol('REMOTE_CLUSTER_TOKEN_VERIFIER');

/** Server-to-server calls: X-MM-RemoteCluster-Id/-Token or Mattermost's X-RemoteCluster-Id/-Token. */
@Injectable()
export class RemoteClusterAuthGuard implements CanActivate {
  constructor(
    @Inject(REMOTE_CLUSTER_TOKEN_VERIFIER) private readonly verifier: RemoteClusterTokenVerifier,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request & AuthenticatedRequest>();
    const scope = this.reflector.getAllAndOverride<RemoteAuthScope | undefined>(REMOTE_AUTH_SCOPE, [context.getHandler(), context.getClass()]) ?? 'connection';
    const { remoteId, token } = extractRemoteCredentials(req.headers);
    if (!token) throw AuthErrors.sessionExpired();
    if (!remoteId) throw AuthErrors.remoteIdMissing();
    if (remoteId.length > 64 || token.length > 128 || !(await this.verifier.verify(remoteId, token, scope))) {
      throw AuthErrors.remoteTokenInvalid();
    }
    req.remote = { remoteId };
    return true;
  }
}
