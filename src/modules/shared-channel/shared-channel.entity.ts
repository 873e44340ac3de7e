import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { IdColumn, MsColumn } from '../../database/columns.js';

/** Mattermost's SharedChannel: one per shared channel on this server (JSON "id" is the channel id). */
@Entity('shared_channels')
@Index('idx_shared_channels_team_id', ['team_id'])
export class SharedChannelEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 }) channel_id: string;
  @Column({ type: 'varchar', length: 26, default: '' }) team_id: string;
  /** true on the server that owns the channel; only the home invites remotes and relays between them. */
  @Column({ type: 'boolean' }) home: boolean;
  @Column({ type: 'boolean', default: false }) readonly: boolean;
  @Column({ type: 'varchar', length: 64 }) name: string;
  @Column({ type: 'varchar', length: 64, default: '' }) display_name: string;
  @Column({ type: 'varchar', length: 250, default: '' }) purpose: string;
  @Column({ type: 'varchar', length: 1024, default: '' }) header: string;
  @IdColumn() creator_id: string;
  @MsColumn() create_at: number;
  @MsColumn() update_at: number;
  /** The home server's connection id when home = false. */
  @IdColumn({ nullable: true }) remote_id: string | null;
  /** Channel type (O, P, D, G); Mattermost emits it under the key "Type". */
  @Column({ type: 'varchar', length: 1 }) type: string;
  /**
   * Not a Mattermost field, never in JSON. On a server that received the share: the version (the home's channel
   * update_at) of the display name, header and purpose last applied from the home (mmfed_channel_details); an older
   * or repeated version changes nothing. 0 on the home.
   */
  @MsColumn() details_update_at: number;
}
