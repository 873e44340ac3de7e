import { Column, Entity, PrimaryColumn } from 'typeorm';
import { MsColumn } from '../../database/columns.js';

/**
 * What kind of server a remote is, as far as the sync engine can tell: 'mmfed' (a server of this project: it answers
 * the consistency topic and always sends a SyncResponse), 'mattermost' (it answers that topic OK with no payload,
 * as Mattermost answers every topic it does not know), or 'unknown' (not asked yet: treated as Mattermost).
 */
export type PeerKind = 'unknown' | 'mmfed' | 'mattermost';

@Entity('sync_peers')
export class SyncPeerEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 }) remote_id: string;
  @Column({ type: 'varchar', length: 16, default: 'unknown' }) kind: PeerKind;
  /** Protocol version of the consistency topic the peer speaks (0 when it does not). */
  @Column({ type: 'int', default: 0 }) version: number;
  @MsColumn() detected_at: number;
}
