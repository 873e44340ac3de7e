import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber, MsColumn } from '../../../database/columns.js';

export type ChannelType = 'O' | 'P' | 'D' | 'G';

/** Mattermost's Channel. D and G channels have team_id ''. */
@Entity('channels')
@Index('uq_channels_team_id_name', ['team_id', 'name'], { unique: true })
export class ChannelEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 }) id: string;
  @MsColumn() create_at: number;
  @MsColumn() update_at: number;
  @MsColumn() delete_at: number;
  @Column({ type: 'varchar', length: 26, default: '' }) team_id: string;
  @Column({ type: 'varchar', length: 1 }) type: ChannelType;
  @Column({ type: 'varchar', length: 64, default: '' }) display_name: string;
  @Column({ type: 'varchar', length: 64 }) name: string;
  @Column({ type: 'varchar', length: 1024, default: '' }) header: string;
  @Column({ type: 'varchar', length: 250, default: '' }) purpose: string;
  @MsColumn() last_post_at: number;
  @MsColumn() last_root_post_at: number;
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber })
  total_msg_count: number;
  @MsColumn() extra_update_at: number;
  @Column({ type: 'varchar', length: 26, default: '' }) creator_id: string;
  @Column({ type: 'boolean', default: false }) shared: boolean;
  /**
   * Per-channel change sequence. A trigger bumps it for every post, reaction and acknowledgement write and
   * stamps the row's `seq`; the row lock it takes makes seq order equal commit order within a channel, which
   * is what lets sync cursors advance without skipping a slower transaction's rows.
   */
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber, select: false }) last_seq: number;
}
