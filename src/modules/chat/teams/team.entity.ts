import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { MsColumn } from '../../../database/columns.js';

/** Mattermost's Team. */
@Entity('teams')
export class TeamEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 }) id: string;
  @MsColumn() create_at: number;
  @MsColumn() update_at: number;
  @MsColumn() delete_at: number;
  @Column({ type: 'varchar', length: 64 }) display_name: string;

  @Index('uq_teams_name', { unique: true })
  @Column({ type: 'varchar', length: 64 })
  name: string;

  @Column({ type: 'varchar', length: 255, default: '' }) description: string;
  @Column({ type: 'varchar', length: 128, default: '' }) email: string;
  /** 'O' open, 'I' invite only. */
  @Column({ type: 'varchar', length: 1, default: 'O' }) type: string;
  @Column({ type: 'varchar', length: 64, default: '' }) company_name: string;
  @Column({ type: 'varchar', length: 1000, default: '' }) allowed_domains: string;
  @Column({ type: 'varchar', length: 32, default: '' }) invite_id: string;
  @Column({ type: 'boolean', default: false }) allow_open_invite: boolean;
}
