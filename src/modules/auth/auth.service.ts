import { Inject, Injectable } from '@nestjs/common';
import { AppError } from '../../common/app-error.js';
import { newId } from '../../common/ids.js';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { RateLimits } from '../../rate-limit/rate-limits.service.js';
import type { AuthContext } from './auth-context.js';
import { AuthErrors } from './auth.errors.js';
import type { CreateUserDto } from './dto/create-user.dto.js';
import { PasswordHasher } from './password-hasher.js';
import { invalidUserRoles, isSystemAdmin, parseRoles, Permission, rolesHavePermission, SYSTEM_ADMIN_ROLE, SYSTEM_USER_ROLE } from './permissions.js';
import { SessionEntity } from './session.entity.js';
import { SessionRepository } from './session.repository.js';
import { hashToken, newOpaqueToken } from './tokens.js';
import { UserAccessTokenEntity } from './user-access-token.entity.js';
import { UserEntity } from './user.entity.js';
import { UserRepository } from './user.repository.js';

export interface NewAccessToken {
  id: string;
  token: string;
  user_id: string;
  description: string;
  is_active: boolean;
}

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UserRepository,
    private readonly sessions: SessionRepository,
    private readonly hasher: PasswordHasher,
    private readonly limits: RateLimits,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * A session for a username or email and password. Failed attempts are limited per client address and per login
   * id, across replicas (RATE_LIMIT_LOGIN_FAILURES_PER_*): then 429 until the window ends, right password or not.
   */
  async login(loginId: string, password: string, deviceId = '', client = 'unknown'): Promise<{ user: UserEntity; token: string }> {
    const account = loginId.trim().toLowerCase();
    const user = await this.limits.attempt(
      [
        [this.limits.loginFailuresByAddress, client],
        [this.limits.loginFailuresByAccount, account],
      ],
      async () => {
        const found = await this.users.findActiveByLoginId(loginId);
        // Synthetic remote users have no password and can never log in here.
        const ok = await this.hasher.verify(password, found?.password || undefined);
        if (!found || !ok) throw AuthErrors.invalidCredentials();
        return found;
      },
    );
    const token = newOpaqueToken();
    const now = Date.now();
    const session = Object.assign(new SessionEntity(), {
      id: newId(),
      token_hash: hashToken(token),
      user_id: user.id,
      create_at: now,
      expires_at: now + this.config.auth.sessionLengthMs,
      last_activity_at: now,
      roles: user.roles,
      device_id: deviceId,
      props: {},
    });
    await this.sessions.insertSession(session);
    return { user, token };
  }

  async logout(sessionId: string): Promise<void> {
    await this.sessions.deleteSession(sessionId);
  }

  /** Resolves a bearer token (session or personal access token) to who is calling, or null. */
  async authenticate(token: string): Promise<AuthContext | null> {
    if (!token || token.length > 128) return null;
    const found = await this.sessions.findCredentialByTokenHash(hashToken(token));
    if (!found) return null;
    if (found.kind === 'session' && found.expiresAt <= Date.now()) {
      await this.sessions.deleteSession(found.id);
      return null;
    }
    if (!found.isActive || !found.user || found.user.deleteAt) return null;
    return { userId: found.user.id, sessionId: found.id, roles: found.user.roles, isAccessToken: found.kind === 'access_token' };
  }

  async getUser(id: string): Promise<UserEntity> {
    const user = await this.users.findById(id);
    if (!user) throw AuthErrors.userNotFound();
    return user;
  }

  async createUser(dto: CreateUserDto, roles = SYSTEM_USER_ROLE): Promise<UserEntity> {
    const user = await this.buildUser(dto, roles);
    if (!(await this.users.insertIfFree(user))) {
      if (await this.users.findByUsername(user.username)) throw AuthErrors.usernameTaken();
      throw AuthErrors.emailTaken();
    }
    return user;
  }

  /** Creates the configured admin unless a user with that username exists; safe when replicas start together. */
  async ensureBootstrapAdmin(): Promise<'created' | 'exists' | 'not-configured'> {
    const admin = this.config.auth.bootstrapAdmin;
    if (!admin) return 'not-configured';
    if (await this.users.findByUsername(admin.username)) return 'exists';
    const user = await this.buildUser(admin, `${SYSTEM_ADMIN_ROLE} ${SYSTEM_USER_ROLE}`);
    user.email_verified = true;
    return (await this.users.insertIfFree(user)) ? 'created' : 'exists';
  }

  /**
   * As Mattermost: the caller needs create_user_access_token (system admins hold it; no other role of this server
   * grants it), and a token for someone else needs an admin.
   */
  async createAccessToken(caller: AuthContext, userId: string, description: string): Promise<NewAccessToken> {
    if (!rolesHavePermission(caller.roles, Permission.CreateUserAccessToken)) throw AuthErrors.forbidden(Permission.CreateUserAccessToken);
    if (caller.userId !== userId && !isSystemAdmin(caller.roles)) throw AuthErrors.forbidden(Permission.EditOtherUsers);
    await this.getUser(userId);
    const token = newOpaqueToken();
    const row = Object.assign(new UserAccessTokenEntity(), {
      id: newId(),
      token_hash: hashToken(token),
      user_id: userId,
      description,
      is_active: true,
    });
    await this.sessions.insertAccessToken(row);
    return { id: row.id, token, user_id: userId, description, is_active: true };
  }

  async revokeAccessToken(caller: AuthContext, tokenId: string): Promise<void> {
    if (!rolesHavePermission(caller.roles, Permission.RevokeUserAccessToken)) throw AuthErrors.forbidden(Permission.RevokeUserAccessToken);
    const row = await this.sessions.findAccessTokenById(tokenId);
    if (!row) throw AuthErrors.tokenNotFound();
    if (row.user_id !== caller.userId && !isSystemAdmin(caller.roles)) throw AuthErrors.forbidden(Permission.EditOtherUsers);
    await this.sessions.deleteAccessToken(tokenId);
  }

  /**
   * Mattermost's UpdateUserRoles (PUT /users/{id}/roles, manage_roles): replaces the user's system roles, e.g. to
   * grant system_shared_channel_manager. Only roles this server knows, system_user always among them; synthetic
   * users of other servers hold no roles here. Sessions read the roles on every request, so it applies at once.
   */
  async updateUserRoles(userId: string, roles: string): Promise<void> {
    const problem = invalidUserRoles(roles);
    if (problem) throw AuthErrors.invalidRoles(problem);
    const user = await this.getUser(userId);
    if (user.remote_id) throw AuthErrors.invalidRoles('the user belongs to another server');
    await this.users.updateNow(userId, { roles: parseRoles(roles).join(' ') });
  }

  deleteExpiredSessions(now = Date.now()): Promise<number> {
    return this.sessions.deleteExpiredSessions(now);
  }

  private async buildUser(
    dto: Pick<CreateUserDto, 'username' | 'email' | 'password'> & Partial<CreateUserDto>,
    roles: string,
  ): Promise<UserEntity> {
    const now = Date.now();
    if (!dto.password) throw AppError.invalidBodyParam('password');
    return Object.assign(new UserEntity(), {
      id: newId(),
      create_at: now,
      update_at: now,
      delete_at: 0,
      username: dto.username.toLowerCase(),
      password: await this.hasher.hash(dto.password),
      auth_data: null,
      auth_service: '',
      email: dto.email.toLowerCase(),
      email_verified: false,
      nickname: dto.nickname ?? '',
      first_name: dto.first_name ?? '',
      last_name: dto.last_name ?? '',
      position: dto.position ?? '',
      roles,
      props: {},
      notify_props: {},
      last_password_update: now,
      last_picture_update: 0,
      failed_attempts: 0,
      locale: dto.locale ?? 'en',
      timezone: { automaticTimezone: '', manualTimezone: '', useAutomaticTimezone: 'true' },
      mfa_active: false,
      mfa_secret: '',
      remote_id: null,
      is_bot: false,
    });
  }
}
