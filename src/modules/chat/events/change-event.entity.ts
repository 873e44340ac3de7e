import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { IdColumn, MsColumn } from '../../../database/columns.js';

/**
 * The change journal (transactional outbox): one row per change, written in the same transaction as the
 * change itself, so a crash after commit cannot lose what the sync engine must send.
 */
@Entity('change_events')
@Index('idx_change_events_channel_seq', ['channel_id', 'seq'])
export class ChangeEventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  seq: string;

  @Column({ type: 'varchar', length: 32 }) kind: string;
  @Column({ type: 'varchar', length: 26, nullable: true }) channel_id: string | null;
  /** null when the change was made here; otherwise the connection id it arrived from. */
  @IdColumn({ nullable: true }) origin_remote_id: string | null;
  @Column({ type: 'jsonb' }) data: Record<string, unknown>;
  @MsColumn() create_at: number;
}
