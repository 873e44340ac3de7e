import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { IdColumn, MsColumn } from '../../../database/columns.js';

/**
 * The change journal (transactional outbox): one row per change, written in the same transaction as the
 * change itself, so a crash after commit cannot lose what the sync engine must send.
 */
@Entity('change_events')
@Index('idx_change_events_channel_seq', ['channel_id', 'seq'])
@Index('idx_change_events_channel_order_seq', ['channel_id', 'order_seq'])
export class ChangeEventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  seq: string;

  /**
   * Commit order, for the events read by cursor: user-level events (channel_id null: profile, picture, status)
   * and member_added/member_removed. A trigger stamps it under a lock held until commit (a global advisory lock
   * for user-level events, the channel row for member events), so a cursor on it never passes an event that is
   * still to commit. `seq` is a plain sequence: a transaction that took seq 10 can commit after the one with 11,
   * and a cursor that had moved to 11 would never see 10. 0 for every other kind.
   */
  @Column({ type: 'bigint', default: 0 }) order_seq: string;

  @Column({ type: 'varchar', length: 32 }) kind: string;
  @Column({ type: 'varchar', length: 26, nullable: true }) channel_id: string | null;
  /** null when the change was made here; otherwise the connection id it arrived from. */
  @IdColumn({ nullable: true }) origin_remote_id: string | null;
  @Column({ type: 'jsonb' }) data: Record<string, unknown>;
  @MsColumn() create_at: number;
}

/** What a writer supplies for a journal row; seq and order_seq are the database's to assign. */
export type JournalRow = Omit<ChangeEventEntity, 'seq' | 'order_seq'>;
