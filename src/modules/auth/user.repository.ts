import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { Tx } from '../../database/transaction-runner.js';
import { UserEntity } from './user.entity.js';

@Injectable()
export class UserRepository {
  constructor(@InjectRepository(UserEntity) private readonly repo: Repository<UserEntity>) {}

  findById(id: string): Promise<UserEntity | null> {
    return this.repo.findOneBy({ id });
  }

  findByUsername(username: string): Promise<UserEntity | null> {
    return this.repo.findOneBy({ username });
  }

  /** Mattermost's login_id matches a username or an email, case-insensitively. */
  findActiveByLoginId(loginId: string): Promise<UserEntity | null> {
    const id = loginId.trim().toLowerCase();
    return this.repo
      .createQueryBuilder('u')
      .where('(u.username = :id OR lower(u.email) = :id) AND u.delete_at = 0', { id })
      .getOne();
  }

  /** Inserts unless the username or email is taken; returns whether the row was written. */
  async insertIfFree(user: UserEntity): Promise<boolean> {
    const result = await this.repo
      .createQueryBuilder()
      .insert()
      .updateEntity(false)
      .into(UserEntity)
      .values(user)
      .orIgnore()
      .returning('id')
      .execute();
    return (result.raw as unknown[]).length > 0;
  }

  async countAll(): Promise<number> {
    return this.repo.count();
  }

  // `= ANY($1)`: one parameter however long the list, where IN would bind one per element and fail past PostgreSQL's
  // 65,535 (the lists come from peers' sync messages and from mentions).
  findByIds(ids: string[]): Promise<UserEntity[]> {
    return ids.length ? this.repo.createQueryBuilder('u').where('u.id = ANY(:ids)', { ids }).getMany() : Promise.resolve([]);
  }

  findByUsernames(usernames: string[]): Promise<UserEntity[]> {
    return usernames.length
      ? this.repo.createQueryBuilder('u').where('u.username = ANY(:usernames)', { usernames }).getMany()
      : Promise.resolve([]);
  }

  /** Row-locks the user for the rest of the transaction, so concurrent profile edits apply one after the other. */
  findByIdForUpdate(tx: Tx, id: string): Promise<UserEntity | null> {
    return tx.getRepository(UserEntity).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  async updateNow(id: string, fields: Partial<UserEntity>): Promise<void> {
    await this.repo.update({ id }, fields);
  }

  /** Deactivates users (delete_at) that are active; the ids written. */
  async deactivateMany(tx: Tx, ids: string[], now: number): Promise<string[]> {
    if (!ids.length) return [];
    const rows: Array<{ id: string }> = await tx.query(
      'UPDATE users SET delete_at = $2, update_at = GREATEST(update_at + 1, $2) WHERE id = ANY($1) AND delete_at = 0 RETURNING id',
      [ids, now],
    );
    return rows.map((r) => r.id);
  }

  async update(tx: Tx, id: string, fields: Partial<UserEntity>): Promise<void> {
    await tx.getRepository(UserEntity).update({ id }, fields);
  }
}
