import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber, IdColumn, MsColumn } from '../../../database/columns.js';

/** Mattermost's Reaction. Removal sets delete_at (state, not a toggle), so add/remove/re-add converge. */
@Entity('reactions')
@Index('idx_reactions_post_id', ['post_id'])
@Index('idx_reactions_channel_update_at', ['channel_id', 'update_at'])
@Index('idx_reactions_channel_seq', ['channel_id', 'seq'])
// Consistency digests: (channel_id, post_id, user_id, emoji_name) INCLUDE (remote_id, seq) WHERE delete_at = 0 (migration).
@Index('idx_reactions_consistency', { synchronize: false })
export class ReactionEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 }) user_id: string;
  @PrimaryColumn({ type: 'varchar', length: 26 }) post_id: string;
  @PrimaryColumn({ type: 'varchar', length: 64 }) emoji_name: string;
  @MsColumn() create_at: number;
  @MsColumn() update_at: number;
  @MsColumn() delete_at: number;
  @IdColumn({ nullable: true }) remote_id: string | null;
  @IdColumn() channel_id: string;
  /** Channel change sequence at this row's last write (set by trigger; see ChannelEntity.last_seq). */
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber }) seq: number;
}
