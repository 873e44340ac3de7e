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

  findSessionByTokenHash(tokenHash: string): Promise<SessionEntity | null> {
    return this.sessions.findOneBy({ token_hash: tokenHash });
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

  findAccessTokenByHash(tokenHash: string): Promise<UserAccessTokenEntity | null> {
    return this.tokens.findOneBy({ token_hash: tokenHash });
  }

  findAccessTokenById(id: string): Promise<UserAccessTokenEntity | null> {
    return this.tokens.findOneBy({ id });
  }

  async deleteAccessToken(id: string): Promise<void> {
    await this.tokens.delete({ id });
  }
}
