import type { RemoteClusterJson } from '../remote-cluster/remote-cluster.mapper.js';
import { type BackfillJson, toBackfillJson } from './history.js';
import type { SharedChannelRemoteEntity } from './shared-channel-remote.entity.js';
import type { SharedChannelEntity } from './shared-channel.entity.js';

/**
 * Mattermost's SharedChannel JSON (protocol 1.3): the channel id under "id", remote_id omitted when empty (home),
 * and the channel type under "Type" because Go's struct field has no json tag.
 */
export interface SharedChannelJson {
  id: string;
  team_id: string;
  home: boolean;
  readonly: boolean;
  name: string;
  display_name: string;
  purpose: string;
  header: string;
  creator_id: string;
  create_at: number;
  update_at: number;
  remote_id?: string;
  Type: string;
}

export function toSharedChannelJson(sc: SharedChannelEntity): SharedChannelJson {
  return {
    id: sc.channel_id,
    team_id: sc.team_id,
    home: sc.home,
    readonly: sc.readonly,
    name: sc.name,
    display_name: sc.display_name,
    purpose: sc.purpose,
    header: sc.header,
    creator_id: sc.creator_id,
    create_at: sc.create_at,
    update_at: sc.update_at,
    ...(sc.remote_id ? { remote_id: sc.remote_id } : {}),
    Type: sc.type,
  };
}

/**
 * Mattermost's SharedChannelRemote JSON (protocol 1.4). LastPostUpdateID goes out as "last_post_id"; our own
 * cursors (sequence cursors, reactions, acknowledgements, user events) and bookkeeping are never shown. `backfill`
 * (not Mattermost's; its clients ignore it) is the history backfill's progress, only when one was asked for: the JSON of
 * a remote without one is Mattermost's byte for byte.
 */
export interface SharedChannelRemoteJson {
  id: string;
  channel_id: string;
  creator_id: string;
  create_at: number;
  update_at: number;
  delete_at: number;
  is_invite_accepted: boolean;
  is_invite_confirmed: boolean;
  remote_id: string;
  last_post_update_at: number;
  last_post_id: string;
  last_post_create_at: number;
  last_post_create_id: string;
  last_members_sync_at: number;
  backfill?: BackfillJson;
}

export function toSharedChannelRemoteJson(r: SharedChannelRemoteEntity): SharedChannelRemoteJson {
  const backfill = toBackfillJson(r);
  return {
    id: r.id,
    channel_id: r.channel_id,
    creator_id: r.creator_id,
    create_at: r.create_at,
    update_at: r.update_at,
    delete_at: r.delete_at,
    is_invite_accepted: r.is_invite_accepted,
    is_invite_confirmed: r.is_invite_confirmed,
    remote_id: r.remote_id,
    last_post_update_at: r.last_post_update_at,
    last_post_id: r.last_post_update_id,
    last_post_create_at: r.last_post_create_at,
    last_post_create_id: r.last_post_create_id,
    last_members_sync_at: r.last_members_sync_at,
    ...(backfill ? { backfill } : {}),
  };
}

/**
 * Mattermost's RemoteClusterInfo (name, display_name, create_at, delete_at, last_ping_at) plus remote_id, which
 * @mattermost/types declares and the webapp keys remotes by. Safe for any member of a shared channel.
 */
export interface RemoteClusterInfoJson {
  remote_id: string;
  name: string;
  display_name: string;
  create_at: number;
  delete_at: number;
  last_ping_at: number;
}

export function toRemoteClusterInfoJson(rc: RemoteClusterJson): RemoteClusterInfoJson {
  return {
    remote_id: rc.remote_id,
    name: rc.name,
    display_name: rc.display_name,
    create_at: rc.create_at,
    delete_at: rc.delete_at,
    last_ping_at: rc.last_ping_at,
  };
}
