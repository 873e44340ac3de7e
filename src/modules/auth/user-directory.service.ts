import { Injectable } from '@nestjs/common';
import type { Tx } from '../../database/transaction-runner.js';
import { AuthErrors } from './auth.errors.js';
import type { UserEntity } from './user.entity.js';
import { UserRepository } from './user.repository.js';

/** A user row as other modules see it (read-only shape; the entity class stays inside auth). */
export type UserRecord = Readonly<UserEntity>;

/** Profile fields other modules may change. */
export type UserProfilePatch = Partial<
  Pick<UserEntity, 'nickname' | 'first_name' | 'last_name' | 'position' | 'locale' | 'timezone' | 'props' | 'email' | 'username'>
>;

/** What the rest of the server may know and change about users; credentials stay in AuthService. */
@Injectable()
export class UserDirectory {
  constructor(private readonly users: UserRepository) {}

  find(id: string): Promise<UserRecord | null> {
    return this.users.findById(id);
  }

  async get(id: string): Promise<UserRecord> {
    const user = await this.users.findById(id);
    if (!user) throw AuthErrors.userNotFound();
    return user;
  }

  findMany(ids: string[]): Promise<UserRecord[]> {
    return this.users.findByIds([...new Set(ids)]);
  }

  findByUsernames(usernames: string[]): Promise<UserRecord[]> {
    return this.users.findByUsernames([...new Set(usernames.map((u) => u.toLowerCase()))]);
  }

  /** Applies a profile patch inside the caller's transaction; returns the updated user, or null if nothing changed. */
  async patch(tx: Tx, id: string, patch: UserProfilePatch, now = Date.now()): Promise<UserRecord | null> {
    const user = await this.users.findByIdForUpdate(tx, id);
    if (!user) throw AuthErrors.userNotFound();
    const changed: Partial<UserEntity> = {};
    for (const [key, value] of Object.entries(patch) as Array<[keyof UserProfilePatch, unknown]>) {
      if (value !== undefined && JSON.stringify(user[key]) !== JSON.stringify(value)) (changed as Record<string, unknown>)[key] = value;
    }
    if (!Object.keys(changed).length) return null;
    changed.update_at = Math.max(now, user.update_at + 1);
    await this.users.update(tx, id, changed);
    return { ...user, ...changed };
  }

  /** Inserts a new user row unless the id, username or email is taken; true when written. */
  insertIfFree(user: UserEntity): Promise<boolean> {
    return this.users.insertIfFree(user);
  }

  findByUsername(username: string): Promise<UserRecord | null> {
    return this.users.findByUsername(username);
  }

  /** Overwrites fields of a user as given (for users owned by a peer; no validation beyond the database's). */
  async overwrite(tx: Tx, id: string, fields: Partial<UserEntity>): Promise<void> {
    await this.users.update(tx, id, fields);
  }

  /** overwrite() outside a transaction. */
  async overwriteNow(id: string, fields: Partial<UserEntity>): Promise<void> {
    await this.users.updateNow(id, fields);
  }

  /** Deactivates the active ones of these users inside the caller's transaction; the ids deactivated. */
  deactivateMany(tx: Tx, ids: string[], now = Date.now()): Promise<string[]> {
    return this.users.deactivateMany(tx, ids, now);
  }

  findForUpdate(tx: Tx, id: string): Promise<UserRecord | null> {
    return this.users.findByIdForUpdate(tx, id);
  }

  async markPictureUpdated(tx: Tx, id: string, now = Date.now()): Promise<UserRecord> {
    const user = await this.users.findByIdForUpdate(tx, id);
    if (!user) throw AuthErrors.userNotFound();
    const at = Math.max(now, user.last_picture_update + 1, user.update_at + 1);
    await this.users.update(tx, id, { last_picture_update: at, update_at: at });
    return { ...user, last_picture_update: at, update_at: at };
  }
}
