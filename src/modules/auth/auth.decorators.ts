import { applyDecorators, createParamDecorator, type ExecutionContext, SetMetadata, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiSecurity, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { AuthContext, AuthenticatedRequest, RemoteCaller } from './auth-context.js';
import type { Permission } from './permissions.js';
import { RemoteRequestRateLimitGuard } from '../../rate-limit/remote-request-rate-limit.guard.js';
import { REMOTE_AUTH_SCOPE, RemoteClusterAuthGuard, type RemoteAuthScope } from './remote-cluster-auth.guard.js';
import { REQUIRED_PERMISSIONS, SessionAuthGuard } from './session-auth.guard.js';

export const SWAGGER_SESSION_SCHEME = 'session';
export const SWAGGER_REMOTE_ID_SCHEME = 'remote-cluster-id';
export const SWAGGER_REMOTE_TOKEN_SCHEME = 'remote-cluster-token';

/** A logged-in session (or access token) holding every listed permission; guard and Swagger in one place. */
export function RequirePermission(...permissions: Permission[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(REQUIRED_PERMISSIONS, permissions),
    UseGuards(SessionAuthGuard),
    ApiBearerAuth(SWAGGER_SESSION_SCHEME),
    ApiUnauthorizedResponse({ description: 'No valid session' }),
    ...(permissions.length ? [ApiForbiddenResponse({ description: `Requires ${permissions.join(', ')}` })] : []),
  );
}

/** Any logged-in session. */
export function Authenticated(): MethodDecorator & ClassDecorator {
  return RequirePermission();
}

/**
 * Server-to-server route: the id and token of a confirmed, non-deleted connection, then that remote's rate limit.
 * `invitation` (only for /confirm_invite) also takes the token of a still-pending invite.
 */
export function RemoteClusterAuth(scope: RemoteAuthScope = 'connection'): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(REMOTE_AUTH_SCOPE, scope),
    UseGuards(RemoteClusterAuthGuard, RemoteRequestRateLimitGuard),
    ApiSecurity({ [SWAGGER_REMOTE_ID_SCHEME]: [], [SWAGGER_REMOTE_TOKEN_SCHEME]: [] }),
    ApiUnauthorizedResponse({ description: 'Unknown remote or wrong token' }),
  );
}

export const CurrentAuth = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthContext => {
  const auth = ctx.switchToHttp().getRequest<AuthenticatedRequest>().auth;
  if (!auth) throw new Error('CurrentAuth used on a route without @RequirePermission/@Authenticated');
  return auth;
});

export const CurrentRemote = createParamDecorator((_: unknown, ctx: ExecutionContext): RemoteCaller => {
  const remote = ctx.switchToHttp().getRequest<AuthenticatedRequest>().remote;
  if (!remote) throw new Error('CurrentRemote used on a route without @RemoteClusterAuth');
  return remote;
});
