import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber, IdColumn, MsColumn } from '../../database/columns.js';

/**
 * A post a remote rejected. It is retried on its own with exponential backoff; after SYNC_POST_MAX_ATTEMPTS it is
 * parked (still here, visible to admins and in metrics, retried on request). It never holds back the channel.
 */
@Entity('sync_post_retries')
@Index('uq_sync_post_retries_post_remote', ['post_id', 'remote_id'], { unique: true })
@Index('idx_sync_post_retries_due', ['remote_id', 'channel_id', 'parked', 'next_attempt_at'])
export class PostRetryEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 }) id: string;
  @IdColumn() post_id: string;
  @IdColumn() channel_id: string;
  @IdColumn() remote_id: string;
  @Column({ type: 'int', default: 0 }) attempts: number;
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber }) next_attempt_at: number;
  @Column({ type: 'varchar', length: 1024, default: '' }) last_error: string;
  @Column({ type: 'boolean', default: false }) parked: boolean;
  @MsColumn() create_at: number;
  @MsColumn() update_at: number;
}
