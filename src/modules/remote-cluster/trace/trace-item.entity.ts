import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { MsColumn } from '../../../database/columns.js';
import type { TraceDirection } from './trace-envelope.entity.js';

/** The kinds of item traced one by one: a post (each version of it), and the reactions and acknowledgements on it. */
export type TraceItemKind = 'post' | 'reaction' | 'acknowledgement';

/**
 * What happened to one item with one remote:
 * - out: accepted / rejected / too_large (sent in envelope msg_id at sent_at, answered at `at`), failed (the message
 *   carrying it got no usable answer: the whole pass is retried), retry (a new attempt
 *   is due at next_attempt_at), parked (no more automatic attempts), waiting (held until the post it depends on is
 *   taken), requested (sent again because the remote refused something that depends on it);
 * - in: refused (this server did not apply what the remote sent, and why).
 */
export type TraceItemEvent = 'accepted' | 'rejected' | 'too_large' | 'failed' | 'retry' | 'parked' | 'waiting' | 'requested' | 'refused';

/**
 * One event of one post-related item (ids and timestamps only: never the message, props or a token), keyed by the
 * post it belongs to, so GET /api/v4/sharedchannels/trace/posts/{post_id} is an index lookup. Kept
 * TRACE_RETENTION_HOURS, then pruned.
 */
@Entity('trace_items')
@Index('idx_trace_items_post_at', ['post_id', 'at'])
@Index('idx_trace_items_at', ['at'])
export class TraceItemEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' }) id: string;
  @MsColumn() at: number;
  @Column({ type: 'varchar', length: 3 }) direction: TraceDirection;
  @Column({ type: 'varchar', length: 26 }) remote_id: string;
  @Column({ type: 'varchar', length: 26, default: '' }) channel_id: string;
  @Column({ type: 'varchar', length: 26 }) post_id: string;
  @Column({ type: 'varchar', length: 16 }) kind: TraceItemKind;
  /** The post id; user_id:post_id:emoji_name for a reaction; user_id:post_id for an acknowledgement. */
  @Column({ type: 'varchar', length: 128 }) item_key: string;
  /** The version the event is about (update_at of the post, reaction or acknowledgement); 0 when unknown. */
  @MsColumn() item_update_at: number;
  @Column({ type: 'varchar', length: 16 }) event: TraceItemEvent;
  @Column({ type: 'varchar', length: 26, default: '' }) msg_id: string;
  /** When the envelope carrying it left (accepted, rejected, too_large). */
  @MsColumn() sent_at: number;
  /** Refusals counted so far (retry, parked). */
  @Column({ type: 'int', default: 0 }) attempt: number;
  @MsColumn() next_attempt_at: number;
  @Column({ type: 'varchar', length: 256, default: '' }) reason: string;
  /** Sent by a history backfill rather than by live sync. */
  @Column({ type: 'boolean', default: false }) backfill: boolean;
}
