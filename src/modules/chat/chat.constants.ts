/** Mattermost's limits (model/post.go, model/channel.go). */
export const POST_MESSAGE_MAX_RUNES = 16383;
export const POST_MAX_FILE_IDS = 10;
export const CHANNEL_NAME_MAX = 64;
export const POSTS_PER_PAGE_DEFAULT = 60;
export const POSTS_PER_PAGE_MAX = 200;
export const GROUP_CHANNEL_MIN = 3;
export const GROUP_CHANNEL_MAX = 8;
export const EMOJI_NAME_RE = /^[a-zA-Z0-9_+-]{1,64}$/;
export const TEAM_ADMIN_ROLES = 'team_user team_admin';
export const TEAM_USER_ROLES = 'team_user';
export const CHANNEL_ADMIN_ROLES = 'channel_user channel_admin';
export const CHANNEL_USER_ROLES = 'channel_user';
/**
 * Post types made by the server itself start with this, as Mattermost's do. Users cannot create them through the
 * API; they describe this server's view of the channel (joins, shares) and are never sent to peers.
 */
export const SYSTEM_POST_TYPE_PREFIX = 'system_';
export const SYSTEM_GENERIC_POST_TYPE = 'system_generic';
/** Mattermost's PostTypeEphemeral: a post shown to one user and never stored. */
export const EPHEMERAL_POST_TYPE = 'system_ephemeral';

export function isSystemPostType(type: string): boolean {
  return type.startsWith(SYSTEM_POST_TYPE_PREFIX);
}

/** A user's timezone is three short strings (useAutomaticTimezone, automaticTimezone, manualTimezone): this many bytes of JSON at most. */
export const TIMEZONE_MAX_BYTES = 1024;
