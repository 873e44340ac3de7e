/**
 * Mattermost's shared-channel wire structs (protocol reference 1.6, 1.7, 4.2), as JSON.
 * Field names and optionality follow ../shared/vectors/wire-samples.json.
 */

export const TOPIC_CHANNEL_INVITE = 'sharedchannel_invite';
export const TOPIC_SYNC = 'sharedchannel_sync';
export const TOPIC_GLOBAL_USER_SYNC = 'sharedchannel_global_user_sync';
export const TOPIC_MEMBERSHIP = 'sharedchannel_membership';
export const TOPIC_UPLOAD = 'sharedchannel_upload';
export const TOPIC_UNSHARE = 'sharedchannel_unshare';
/**
 * Not in Mattermost: a channel's display name, header and purpose between servers of this project. A Mattermost
 * peer answers it, like every topic it does not know, OK with no payload: the sender then leaves it at that.
 */
export const TOPIC_CHANNEL_DETAILS = 'mmfed_channel_details';

/** The substring Mattermost senders match to learn that a channel is no longer shared (4.6). */
export const NO_LONGER_SHARED = 'channel is no longer shared';

export interface WireUser {
  id: string;
  create_at: number;
  update_at: number;
  delete_at: number;
  username: string;
  password?: string;
  auth_data?: string | null;
  auth_service: string;
  email: string;
  email_verified?: boolean;
  nickname: string;
  first_name: string;
  last_name: string;
  position: string;
  roles: string;
  props?: Record<string, string> | null;
  notify_props?: Record<string, string> | null;
  last_password_update?: number;
  last_picture_update?: number;
  failed_attempts?: number;
  locale: string;
  timezone: Record<string, string> | null;
  mfa_active?: boolean;
  mfa_secret?: string;
  remote_id?: string | null;
  last_activity_at?: number;
  is_bot?: boolean;
  disable_welcome_email: boolean;
}

export interface WirePost {
  id: string;
  create_at: number;
  update_at: number;
  edit_at: number;
  delete_at: number;
  is_pinned: boolean;
  user_id: string;
  channel_id: string;
  root_id: string;
  original_id: string;
  message: string;
  message_source?: string;
  type: string;
  props: Record<string, unknown> | null;
  hashtags: string;
  file_ids: string[] | null;
  pending_post_id: string;
  has_reactions?: boolean;
  remote_id?: string | null;
  reply_count: number;
  last_reply_at: number;
  participants: unknown[] | null;
  is_following?: boolean;
  metadata?: Record<string, unknown> | null;
}

export interface WireReaction {
  user_id: string;
  post_id: string;
  emoji_name: string;
  create_at: number;
  update_at: number;
  delete_at: number;
  remote_id: string | null;
  channel_id: string;
}

export interface WireAck {
  user_id: string;
  post_id: string;
  acknowledged_at: number;
  channel_id: string;
  remote_id?: string;
}

export interface WireStatus {
  user_id: string;
  status: string;
  manual: boolean;
  last_activity_at: number;
  active_channel?: string;
  dnd_end_time: number;
}

export interface MembershipChangeMsg {
  channel_id: string;
  user_id: string;
  is_add: boolean;
  remote_id: string;
  change_time: number;
}

export interface SyncMsg {
  id: string;
  channel_id: string;
  users?: Record<string, WireUser>;
  posts?: WirePost[];
  reactions?: WireReaction[];
  statuses?: WireStatus[];
  membership_changes?: MembershipChangeMsg[];
  acknowledgements?: WireAck[];
  mention_transforms?: Record<string, string>;
}

export interface SyncResponse {
  users_last_update_at: number;
  user_errors: string[] | null;
  users_syncd: string[] | null;
  posts_last_update_at: number;
  post_errors: string[] | null;
  reactions_last_update_at: number;
  reaction_errors: string[] | null;
  acknowledgements_last_update_at: number;
  acknowledgement_errors: string[] | null;
  status_errors: string[] | null;
  membership_errors?: string[];
  /**
   * Not in Mattermost (its sender ignores unknown fields): why each refused post, reaction or acknowledgement was
   * refused, keyed `<kind>:<id as listed in its errors>` (post:<post_id>, reaction:<post_id>,
   * acknowledgement:<post_id>). Our receiver sends it; the sender shows it in the delivery trace.
   */
  error_reasons?: Record<string, string>;
}

export function emptySyncResponse(): SyncResponse {
  return {
    users_last_update_at: 0,
    user_errors: [],
    users_syncd: [],
    posts_last_update_at: 0,
    post_errors: [],
    reactions_last_update_at: 0,
    reaction_errors: [],
    acknowledgements_last_update_at: 0,
    acknowledgement_errors: [],
    status_errors: [],
  };
}

export interface ChannelInviteMsg {
  channel_id: string;
  team_id: string;
  read_only: boolean;
  name: string;
  display_name: string;
  header: string;
  purpose: string;
  type: string;
  creator_id: string;
  direct_participant_ids: string[] | null;
  direct_participants: WireUser[] | null;
}

export interface ChannelUnshareMsg {
  channel_id: string;
  remote_id: string;
}

/**
 * mmfed_channel_details. `update`: the home's details as they are now, with their version (the home's channel
 * update_at), to a remote; applied if newer than the version the remote has. `propose`: a remote's member asks the
 * home to change them (only the fields given); the home applies it if that member may, then relays it to every remote.
 */
export interface ChannelDetailsMsg {
  kind: 'update' | 'propose';
  channel_id: string;
  display_name?: string;
  header?: string;
  purpose?: string;
  /** update: the version; propose: 0. */
  update_at: number;
  /** Who changed them (update) or wants to (propose). */
  user_id: string;
  /** The name the receiver's notices show when it does not know the user. */
  username: string;
}

/** The channel's details as the home has them after a message, with their version. */
export interface ChannelDetailsState {
  display_name: string;
  header: string;
  purpose: string;
  update_at: number;
}

/**
 * The payload of an OK answer to mmfed_channel_details. `applied`: taken (state is the result); `stale`: an update
 * not newer than what the receiver has; `refused`: a proposal the home will not apply (reason), or a message the
 * receiver cannot take for this channel. A FAIL answer is a transient failure: sent again.
 */
export interface ChannelDetailsReply {
  status: 'applied' | 'stale' | 'refused';
  reason?: string;
  channel?: ChannelDetailsState;
}
