import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { MsColumn } from '../../../database/columns.js';

/** How one check ended: the states agreed, differed and were repaired, differed and some repair failed, or it could not run. */
export type ConsistencyResult = 'consistent' | 'repaired' | 'divergent' | 'not_supported' | 'error';

/** Per kind of item: how many differed and how many were repaired, in the last check. */
export type ConsistencyCounts = Record<string, { divergent: number; repaired: number }>;

/**
 * The consistency check of one shared channel with one remote (anti-entropy): when it last ran, what it found and
 * repaired, what it cost, and when the periodic trigger runs it next. Read by
 * GET /api/v4/sharedchannels/{channel_id}/remotes/{remote_id}/consistency.
 */
@Entity('shared_channel_consistency')
@Index('idx_shared_channel_consistency_due', ['next_check_at'])
export class ChannelConsistencyEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 }) channel_id: string;
  @PrimaryColumn({ type: 'varchar', length: 26 }) remote_id: string;
  @MsColumn() last_check_at: number;
  /** '' until the first check. */
  @Column({ type: 'varchar', length: 16, default: '' }) last_result: ConsistencyResult | '';
  @Column({ type: 'varchar', length: 1024, default: '' }) last_error: string;
  /** Items found different in the last check (in flight ones are not counted) and repaired by it. */
  @Column({ type: 'int', default: 0 }) divergent: number;
  @Column({ type: 'int', default: 0 }) repaired: number;
  @Column({ type: 'jsonb', default: {} }) counts: ConsistencyCounts;
  /** Payload bytes of the digests and item lists exchanged (both ways), and of the repairs, in the last check. */
  @Column({ type: 'int', default: 0 }) digest_bytes: number;
  @Column({ type: 'int', default: 0 }) repair_bytes: number;
  @Column({ type: 'int', default: 0 }) duration_ms: number;
  /** Since the row was created. */
  @Column({ type: 'int', default: 0 }) checks: number;
  @Column({ type: 'int', default: 0 }) divergent_total: number;
  @Column({ type: 'int', default: 0 }) repaired_total: number;
  @MsColumn() next_check_at: number;
  @MsColumn() update_at: number;
}
