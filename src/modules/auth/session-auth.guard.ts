import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { AuthenticatedRequest } from './auth-context.js';
import { AuthErrors } from './auth.errors.js';
import { AuthService } from './auth.service.js';
import { type Permission, rolesHavePermission } from './permissions.js';
import { extractClientToken } from './request-token.js';

export const REQUIRED_PERMISSIONS = 'auth:required-permissions';

/** Authenticates a client API call by session or personal access token, then checks the route's permissions. */
@Injectable()
export class SessionAuthGuard implements CanActivate {
  constructor(
    private readonly auth: AuthService,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request & AuthenticatedRequest>();
    // Headers and the session cookie only: ?access_token= is accepted on Bull Board alone (see create-app.ts).
    const token = extractClientToken(req.headers);
    const ctx = token ? await this.auth.authenticate(token) : null;
    if (!ctx) throw AuthErrors.sessionExpired();
    req.auth = ctx;
    const required =
      this.reflector.getAllAndOverride<Permission[]>(REQUIRED_PERMISSIONS, [context.getHandler(), context.getClass()]) ?? [];
    for (const permission of required) {
      if (!rolesHavePermission(ctx.roles, permission)) throw AuthErrors.forbidden(permission);
    }
    return true;
  }
}
