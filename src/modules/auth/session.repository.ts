import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, Repository } from 'typeorm';
import { SessionEntity } from './session.entity.js';
import { UserAccessTokenEntity } from './user-access-token.entity.js';

@Injectable()
export class SessionRepository {
  constructor(
    @InjectRepository(SessionEntity) private readonly sessions: Repository<SessionEntity>,
    @InjectRepository(UserAccessTokenEntity) private readonly tokens: Repository<UserAccessTokenEntity>,
  ) {}

  async insertSession(session: SessionEntity): Promise<void> {
    await this.sessions.insert(session);
  }

  /**
   * What every authenticated request needs, in one round trip: the session or personal access token with that
   * hash and its user's state. Raw SQL on purpose: it runs once per API call.
   */
  async findCredentialByTokenHash(tokenHash: string): Promise<TokenCredential | null> {
    const rows = (await this.sessions.query(
      `SELECT 'session' AS kind, s.id, s.expires_at::text AS expires_at, true AS is_active, u.id AS user_id, u.roles, u.delete_at::text AS user_delete_at
         FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1
       UNION ALL
       SELECT 'access_token', t.id, '0', t.is_active, u.id, u.roles, u.delete_at::text
         FROM user_access_tokens t LEFT JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1
       LIMIT 1`,
      [tokenHash],
    )) as Array<{ kind: 'session' | 'access_token'; id: string; expires_at: string; is_active: boolean; user_id: string | null; roles: string | null; user_delete_at: string | null }>;
    const r = rows[0];
    if (!r) return null;
    return {
      kind: r.kind,
      id: r.id,
      expiresAt: Number(r.expires_at),
      isActive: r.is_active,
      user: r.user_id === null ? null : { id: r.user_id, roles: r.roles ?? '', deleteAt: Number(r.user_delete_at) },
    };
  }

  async deleteSession(id: string): Promise<void> {
    await this.sessions.delete({ id });
  }

  async deleteExpiredSessions(now: number): Promise<number> {
    const result = await this.sessions.delete({ expires_at: LessThan(now) });
    return result.affected ?? 0;
  }

  async insertAccessToken(token: UserAccessTokenEntity): Promise<void> {
    await this.tokens.insert(token);
  }

  findAccessTokenById(id: string): Promise<UserAccessTokenEntity | null> {
    return this.tokens.findOneBy({ id });
  }

  async deleteAccessToken(id: string): Promise<void> {
    await this.tokens.delete({ id });
  }
}

/** A session or personal access token found by its hash, with its user's state (null when the user is gone). */
export interface TokenCredential {
  kind: 'session' | 'access_token';
  id: string;
  /** Sessions only; 0 for access tokens. */
  expiresAt: number;
  /** Access tokens only; always true for sessions. */
  isActive: boolean;
  user: { id: string; roles: string; deleteAt: number } | null;
}
