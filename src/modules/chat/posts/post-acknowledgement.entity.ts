import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber, IdColumn, MsColumn } from '../../../database/columns.js';

/** Mattermost's PostAcknowledgement; acknowledged_at = 0 means removed. update_at orders changes for sync. */
@Entity('post_acknowledgements')
@Index('idx_post_acknowledgements_post_id', ['post_id'])
@Index('idx_post_acknowledgements_channel_update_at', ['channel_id', 'update_at'])
@Index('idx_post_acknowledgements_channel_seq', ['channel_id', 'seq'])
// Consistency digests: (channel_id, post_id, user_id) INCLUDE (remote_id, seq) WHERE acknowledged_at > 0 (migration).
@Index('idx_post_acknowledgements_consistency', { synchronize: false })
export class PostAcknowledgementEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 }) user_id: string;
  @PrimaryColumn({ type: 'varchar', length: 26 }) post_id: string;
  @MsColumn() acknowledged_at: number;
  @MsColumn() update_at: number;
  @IdColumn() channel_id: string;
  @IdColumn({ nullable: true }) remote_id: string | null;
  /** Channel change sequence at this row's last write (set by trigger; see ChannelEntity.last_seq). */
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber }) seq: number;
}
