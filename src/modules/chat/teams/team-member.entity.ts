import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { MsColumn } from '../../../database/columns.js';

/** Mattermost's TeamMember; removal is soft (delete_at), as Mattermost does. */
@Entity('team_members')
@Index('idx_team_members_user_id', ['user_id'])
export class TeamMemberEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 }) team_id: string;
  @PrimaryColumn({ type: 'varchar', length: 26 }) user_id: string;
  @Column({ type: 'varchar', length: 256, default: '' }) roles: string;
  @MsColumn() delete_at: number;
  @Column({ type: 'boolean', default: true }) scheme_user: boolean;
  @Column({ type: 'boolean', default: false }) scheme_admin: boolean;
  @Column({ type: 'boolean', default: false }) scheme_guest: boolean;
  @MsColumn() create_at: number;
}
