import type { RemoteClusterEntity } from './remote-cluster.entity.js';

/** Mattermost's RemoteCluster JSON, fields in Go struct order, none omitted. */
export interface RemoteClusterJson {
  remote_id: string;
  remote_team_id: string;
  name: string;
  display_name: string;
  site_url: string;
  default_team_id: string;
  create_at: number;
  delete_at: number;
  last_ping_at: number;
  last_global_user_sync_at: number;
  /** Always '' outside the database (Mattermost's Sanitize()). */
  token: string;
  /** Always '' outside the database (Mattermost's Sanitize()). */
  remote_token: string;
  topics: string;
  creator_id: string;
  plugin_id: string;
  options: number;
}

/** Mattermost's RemoteClusterInfo: what non-admins may learn about a connection. */
export interface RemoteClusterInfoJson {
  name: string;
  display_name: string;
  create_at: number;
  delete_at: number;
  last_ping_at: number;
}

/**
 * The record as the API, topic handlers and other modules see it: tokens blanked, as Sanitize() does.
 * There is deliberately no variant that keeps them; only the repository and the transport read secrets.
 */
export function toRemoteClusterJson(rc: RemoteClusterEntity): RemoteClusterJson {
  return {
    remote_id: rc.remote_id,
    remote_team_id: rc.remote_team_id,
    name: rc.name,
    display_name: rc.display_name,
    site_url: rc.site_url,
    default_team_id: rc.default_team_id,
    create_at: rc.create_at,
    delete_at: rc.delete_at,
    last_ping_at: rc.last_ping_at,
    last_global_user_sync_at: rc.last_global_user_sync_at,
    token: '',
    remote_token: '',
    topics: rc.topics,
    creator_id: rc.creator_id,
    plugin_id: rc.plugin_id,
    options: rc.options,
  };
}

export function toRemoteClusterInfoJson(rc: RemoteClusterEntity | RemoteClusterJson): RemoteClusterInfoJson {
  return {
    name: rc.name,
    display_name: rc.display_name,
    create_at: rc.create_at,
    delete_at: rc.delete_at,
    last_ping_at: rc.last_ping_at,
  };
}
