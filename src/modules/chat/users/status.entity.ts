import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintToNumber, MsColumn } from '../../../database/columns.js';

export type StatusValue = 'online' | 'away' | 'dnd' | 'offline' | 'ooo';

/** Mattermost's Status. dnd_end_time is in seconds, as Mattermost has it. */
@Entity('statuses')
export class StatusEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 }) user_id: string;
  @Column({ type: 'varchar', length: 16 }) status: StatusValue;
  @Column({ type: 'boolean', default: false }) manual: boolean;
  @MsColumn() last_activity_at: number;
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber })
  dnd_end_time: number;
  @Column({ type: 'varchar', length: 16, default: '' }) prev_status: string;
  @MsColumn() update_at: number;
}
