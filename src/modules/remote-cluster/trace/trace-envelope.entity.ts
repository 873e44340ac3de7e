import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { MsColumn } from '../../../database/columns.js';

export type TraceDirection = 'in' | 'out';
/** ok: delivered and answered OK; fail: answered FAIL (or refused by the receiver); error: no usable answer. */
export type EnvelopeResult = 'ok' | 'fail' | 'error';

/**
 * One envelope that crossed the boundary, in or out: a /msg frame (its topic and id), a ping, an invite
 * confirmation, or the bytes of an upload or profile image. What it carried is counted (items per kind, bytes),
 * never stored: no message text, props or credentials. Kept TRACE_RETENTION_HOURS, then pruned.
 */
@Entity('trace_envelopes')
@Index('idx_trace_envelopes_remote_at', ['remote_id', 'at'])
@Index('idx_trace_envelopes_at', ['at'])
export class TraceEnvelopeEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' }) id: string;
  /** When it left (out) or arrived (in). */
  @MsColumn() at: number;
  @Column({ type: 'varchar', length: 3 }) direction: TraceDirection;
  @Column({ type: 'varchar', length: 26 }) remote_id: string;
  /** The /msg topic; ping, confirm_invite, upload or profile_image for the other endpoints. */
  @Column({ type: 'varchar', length: 64 }) topic: string;
  @Column({ type: 'varchar', length: 26, default: '' }) msg_id: string;
  /** The channel a sync message was about ('' otherwise). */
  @Column({ type: 'varchar', length: 26, default: '' }) channel_id: string;
  /** Items per kind the payload carried, e.g. {"posts": 3, "users": 1}. */
  @Column({ type: 'jsonb', default: {} }) items: Record<string, number>;
  @Column({ type: 'int', default: 0 }) bytes: number;
  @Column({ type: 'varchar', length: 8 }) result: EnvelopeResult;
  /** The HTTP status the peer answered with (out), 0 when none. */
  @Column({ type: 'int', default: 0 }) status: number;
  /** Why it failed: the classified transport failure or the FAIL text, redacted and cut to 256 characters. */
  @Column({ type: 'varchar', length: 256, default: '' }) reason: string;
  @Column({ type: 'int', default: 0 }) duration_ms: number;
}
