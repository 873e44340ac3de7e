import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber, MsColumn } from '../../../database/columns.js';

/** Mattermost's ChannelMember. Removal deletes the row; the change journal keeps the removal. */
@Entity('channel_members')
@Index('idx_channel_members_user_id', ['user_id'])
export class ChannelMemberEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 }) channel_id: string;
  @PrimaryColumn({ type: 'varchar', length: 26 }) user_id: string;
  @Column({ type: 'varchar', length: 256, default: '' }) roles: string;
  @MsColumn() last_viewed_at: number;
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber })
  msg_count: number;
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber })
  mention_count: number;
  @Column({ type: 'jsonb', default: {} }) notify_props: Record<string, string>;
  @MsColumn() last_update_at: number;
  @Column({ type: 'boolean', default: true }) scheme_user: boolean;
  @Column({ type: 'boolean', default: false }) scheme_admin: boolean;
  @Column({ type: 'boolean', default: false }) scheme_guest: boolean;
  @MsColumn() create_at: number;
}
