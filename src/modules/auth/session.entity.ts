import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { IdColumn, MsColumn } from '../../database/columns.js';

/** A login session. Only the SHA-256 of the bearer token is stored, so a database leak leaks no sessions. */
@Entity('sessions')
export class SessionEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 })
  id: string;

  @Index('uq_sessions_token_hash', { unique: true })
  @Column({ type: 'char', length: 64 })
  token_hash: string;

  @Index('idx_sessions_user_id')
  @IdColumn()
  user_id: string;

  @MsColumn() create_at: number;

  @Index('idx_sessions_expires_at')
  @MsColumn()
  expires_at: number;

  @MsColumn() last_activity_at: number;

  @Column({ type: 'varchar', length: 256, default: '' })
  roles: string;

  @Column({ type: 'varchar', length: 512, default: '' })
  device_id: string;

  @Column({ type: 'jsonb', default: {} })
  props: Record<string, string>;
}
