import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber, IdColumn, MsColumn } from '../../database/columns.js';

/**
 * Mattermost's User, one row per local or synthetic (remote) user. Column names are Mattermost's JSON names.
 * `password`, `auth_data`, `mfa_secret` never leave the server: see toUserJson().
 */
@Entity('users')
@Index('idx_users_update_at_id', ['update_at', 'id'])
@Index('idx_users_sync_seq', ['sync_seq'])
export class UserEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 })
  id: string;

  @MsColumn() create_at: number;
  @MsColumn() update_at: number;
  /**
   * Commit order of changes to local users, stamped by a trigger under the journal's user-level lock (see
   * ChangeEventEntity.order_seq): the global user sync's cursor. 0 for remote users.
   */
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber }) sync_seq: number;
  @MsColumn() delete_at: number;

  @Index('uq_users_username', { unique: true })
  @Column({ type: 'varchar', length: 64 })
  username: string;

  /** bcrypt hash; empty for synthetic remote users, who cannot log in. */
  @Column({ type: 'varchar', length: 128, default: '' })
  password: string;

  @Column({ type: 'varchar', length: 128, nullable: true })
  auth_data: string | null;

  @Column({ type: 'varchar', length: 32, default: '' })
  auth_service: string;

  @Index('uq_users_email', { unique: true })
  @Column({ type: 'varchar', length: 128 })
  email: string;

  @Column({ type: 'boolean', default: false })
  email_verified: boolean;

  @Column({ type: 'varchar', length: 64, default: '' }) nickname: string;
  @Column({ type: 'varchar', length: 64, default: '' }) first_name: string;
  @Column({ type: 'varchar', length: 64, default: '' }) last_name: string;
  @Column({ type: 'varchar', length: 128, default: '' }) position: string;

  /** Space-separated Mattermost roles, e.g. "system_admin system_user". */
  @Column({ type: 'varchar', length: 256, default: 'system_user' })
  roles: string;

  @Column({ type: 'jsonb', default: {} }) props: Record<string, string>;
  @Column({ type: 'jsonb', default: {} }) notify_props: Record<string, string>;

  @MsColumn() last_password_update: number;
  @MsColumn() last_picture_update: number;

  @Column({ type: 'int', default: 0 })
  failed_attempts: number;

  @Column({ type: 'varchar', length: 5, default: 'en' })
  locale: string;

  @Column({ type: 'jsonb', default: {} })
  timezone: Record<string, string>;

  @Column({ type: 'boolean', default: false }) mfa_active: boolean;
  @Column({ type: 'varchar', length: 128, default: '' }) mfa_secret: string;

  /** Connection id of the server that owns this user; null for local users. */
  @Index('idx_users_remote_id')
  @IdColumn({ nullable: true })
  remote_id: string | null;

  @Column({ type: 'boolean', default: false })
  is_bot: boolean;
}
