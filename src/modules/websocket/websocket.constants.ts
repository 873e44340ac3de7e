/** Mattermost's WebSocket route (a trailing slash is accepted too). */
export const WEBSOCKET_PATH = '/api/v4/websocket';

/** Reported in hello's server_version and the ping reply: the Mattermost API level this server speaks. */
export const SERVER_VERSION = '10.11.0';

/** Largest frame a client may send (Mattermost's SocketMaxMessageSizeKb). */
export const MAX_CLIENT_FRAME_BYTES = 8 * 1024;

/** A socket that has not authenticated this long after opening is closed (Mattermost's authCheckInterval). */
export const AUTH_TIMEOUT_MS = 5_000;
/** Protocol pings go out this often; a socket silent for PONG_WAIT_MS (no pong, no frame) is dropped. */
export const PING_INTERVAL_MS = 30_000;
export const PONG_WAIT_MS = 100_000;
/** Every open socket's session is checked again this often; a revoked or expired one is closed. */
export const SESSION_RECHECK_MS = 60_000;

/** Close codes. 1001 (going away) makes every Mattermost client reconnect; 1008 is an authentication failure. */
export const CloseCode = {
  GoingAway: 1001,
  UnsupportedData: 1003,
  PolicyViolation: 1008,
  InternalError: 1011,
  /** A client whose unsent frames passed WEBSOCKET_SEND_BUFFER_BYTES. */
  SlowClient: 4008,
  /** The same connection id was resumed on a newer socket. */
  Replaced: 4009,
} as const;

/** The events this server sends, with Mattermost's names (model/websocket_message.go, @mattermost/client). */
export enum WsEventName {
  Hello = 'hello',
  Posted = 'posted',
  PostEdited = 'post_edited',
  PostDeleted = 'post_deleted',
  ReactionAdded = 'reaction_added',
  ReactionRemoved = 'reaction_removed',
  AckAdded = 'post_acknowledgement_added',
  AckRemoved = 'post_acknowledgement_removed',
  Typing = 'typing',
  StatusChange = 'status_change',
  ChannelCreated = 'channel_created',
  DirectAdded = 'direct_added',
  GroupAdded = 'group_added',
  ChannelUpdated = 'channel_updated',
  ChannelDeleted = 'channel_deleted',
  UserAdded = 'user_added',
  UserRemoved = 'user_removed',
  UserUpdated = 'user_updated',
  AddedToTeam = 'added_to_team',
  LeaveTeam = 'leave_team',
  EphemeralMessage = 'ephemeral_message',
  SharedChannelRemoteUpdated = 'shared_channel_remote_updated',
  /** Ours (Mattermost has no such event): a secure connection went online or offline; system admins only. */
  RemoteClusterStatusChanged = 'remote_cluster_status_changed',
}
