import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintToNumber, IdColumn, MsColumn } from '../../database/columns.js';

/**
 * How far the global user sync (protocol 6.4) got with one remote: the (update_at, id) of the last local user it
 * delivered. A pair, not Mattermost's bare timestamp: users sharing an update_at across a batch boundary are all
 * sent. remote_clusters.last_global_user_sync_at mirrors the timestamp half for the API.
 */
@Entity('global_user_sync_cursors')
export class GlobalUserSyncCursorEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 }) remote_id: string;
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber }) cursor_update_at: number;
  @IdColumn({ default: '' }) cursor_user_id: string;
  /** users.sync_seq of the last local user delivered: the cursor itself (commit order, never skips). */
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber }) cursor_seq: number;
  @MsColumn() update_at: number;
}
