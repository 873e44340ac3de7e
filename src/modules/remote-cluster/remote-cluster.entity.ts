import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { IdColumn, MsColumn } from '../../database/columns.js';

/** site_url of an invite that has not been confirmed yet: `pending_<random id>` (Mattermost's SiteURLPending). */
export const SITE_URL_PENDING_PREFIX = 'pending_';
/** site_url of a plugin-backed remote (never reached over HTTP). */
export const SITE_URL_PLUGIN_PREFIX = 'plugin_';

/**
 * Mattermost's RemoteCluster: one secure connection to one peer. `remote_id` is the same on both servers.
 * Mattermost stores `token` (what the peer presents to us) in clear; we keep only its SHA-256 (`token_hash`,
 * compared in constant time), so a read of this table does not let anyone call us as the peer. `remote_token`
 * (what we present to the peer) must stay usable for sending.
 */
@Entity('remote_clusters')
// Mattermost's unique (SiteURL, RemoteTeamId), but only among live connections so a deleted one can be redone.
@Index('uq_remote_clusters_site_url', ['site_url', 'remote_team_id'], { unique: true, where: 'delete_at = 0' })
export class RemoteClusterEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 }) remote_id: string;
  /** Deprecated in Mattermost, always ''; kept because it is part of the JSON and the unique key. */
  @Column({ type: 'varchar', length: 26, default: '' }) remote_team_id: string;
  @Column({ type: 'varchar', length: 64 }) name: string;
  @Column({ type: 'varchar', length: 64 }) display_name: string;
  @Column({ type: 'varchar', length: 512 }) site_url: string;
  @IdColumn({ default: '' }) default_team_id: string;
  @MsColumn() create_at: number;
  /**
   * When the current invite code of a pending record was issued by generate_invite (0: with the record). A code
   * expires 48 h after its own issue, so a re-issued one is never born nearly dead (Mattermost weakness 12.4).
   */
  @MsColumn() invite_issued_at: number;
  @MsColumn() delete_at: number;
  /** When our last outbound ping to this peer succeeded. */
  @MsColumn() last_ping_at: number;
  @MsColumn() last_global_user_sync_at: number;
  /** hex SHA-256 of the token the peer must present (the invite's token while the record is pending). */
  @Column({ type: 'varchar', length: 64 }) token_hash: string;
  /**
   * After a token rotation: the hash of the token the peer used before. Valid until the peer first presents the
   * new one (previous_token_expires_at 0), then for REMOTE_TOKEN_OVERLAP_MS, so messages in flight still pass.
   */
  @Column({ type: 'varchar', length: 64, default: '' }) previous_token_hash: string;
  @MsColumn() previous_token_expires_at: number;
  /**
   * Our new inbound token during a rotation, kept readable only while it may have to be handed over again: until
   * the peer's reply when we started the rotation (pending_awaits_reply), else until the peer first presents it.
   */
  @Column({ type: 'varchar', length: 512, default: '' }) pending_token: string;
  @Column({ type: 'boolean', default: false }) pending_awaits_reply: boolean;
  /** What we present to the peer: in clear, or sealed with REMOTE_TOKEN_KEY (TokenSealer), as is pending_token. */
  @Column({ type: 'varchar', length: 512, default: '' }) remote_token: string;
  @Column({ type: 'varchar', length: 512, default: '' }) topics: string;
  @IdColumn() creator_id: string;
  @Column({ type: 'varchar', length: 190, default: '' }) plugin_id: string;
  /** uint32 bitmask: 1 AutoShareDMs, 2 AutoInvited. */
  @Column({ type: 'integer', default: 0 }) options: number;
  /**
   * Not a Mattermost field: the connection state last announced. Flipped with a conditional UPDATE so that of
   * several replicas observing the same change, exactly one emits the state-change event.
   */
  @Column({ type: 'boolean', default: false }) online: boolean;
}

export function isConfirmed(rc: Pick<RemoteClusterEntity, 'site_url' | 'plugin_id'>): boolean {
  if (isPlugin(rc)) return true;
  return rc.site_url !== '' && !rc.site_url.startsWith(SITE_URL_PENDING_PREFIX);
}

export function isPlugin(rc: Pick<RemoteClusterEntity, 'site_url' | 'plugin_id'>): boolean {
  return rc.plugin_id !== '' || rc.site_url.startsWith(SITE_URL_PLUGIN_PREFIX);
}
