import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber, IdColumn, MsColumn } from '../../database/columns.js';

/** The kinds of item a remote can refuse one by one (the kinds of a SyncMsg that carry per-item errors). */
export const RETRY_KINDS = ['post', 'reaction', 'acknowledgement', 'user', 'membership', 'status'] as const;
export type RetryKind = (typeof RETRY_KINDS)[number];

/**
 * An item a remote did not take, or that waits for another item it depends on. Its stream's cursor has moved past
 * it, so this row is what keeps it from being lost: it is sent again on its own with exponential backoff and, after
 * SYNC_POST_MAX_ATTEMPTS refusals (or at once, when it is too large for the receiver even alone), parked: still here,
 * visible to admins and in metrics, retried on request. An item that waits (`waiting_for`, a post the receiver does
 * not have yet) spends no attempts; it becomes due the moment that post is accepted. It never holds back the channel.
 */
@Entity('sync_item_retries')
@Index('uq_sync_item_retries_item', ['remote_id', 'channel_id', 'kind', 'item_key'], { unique: true })
@Index('idx_sync_item_retries_due', ['remote_id', 'channel_id', 'parked', 'next_attempt_at'])
@Index('idx_sync_item_retries_waiting', ['remote_id', 'waiting_for'], { where: `"waiting_for" <> ''` })
export class SyncRetryEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 }) id: string;
  @Column({ type: 'varchar', length: 16, default: 'post' }) kind: RetryKind;
  /** The item: a post or user id, user_id:post_id:emoji_name for a reaction, user_id:post_id for an acknowledgement. */
  @Column({ type: 'varchar', length: 128, default: '' }) item_key: string;
  /** The post the item is or belongs to ('' for users, memberships and statuses). */
  @Column({ type: 'varchar', length: 26, default: '' }) post_id: string;
  @IdColumn() channel_id: string;
  @IdColumn() remote_id: string;
  @Column({ type: 'int', default: 0 }) attempts: number;
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber }) next_attempt_at: number;
  @Column({ type: 'varchar', length: 1024, default: '' }) last_error: string;
  @Column({ type: 'boolean', default: false }) parked: boolean;
  /** A post the receiver must accept first (a reply's root, a reaction's post); '' when the item is not waiting. */
  @Column({ type: 'varchar', length: 26, default: '' }) waiting_for: string;
  @MsColumn() create_at: number;
  @MsColumn() update_at: number;
}
