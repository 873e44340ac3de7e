import type { PostJson } from '../posts/post.mapper.js';

/**
 * Event name of ChatNotice on the app's EventEmitter2: things the chat core tells its listeners (the WebSocket
 * events) that are not content to synchronise, so they are not journalled. Emitted after the change committed.
 */
export const CHAT_NOTICE_EVENT = 'chat.notice';

export type ChatNotice =
  /** A user joined (or rejoined) a team, or left it; `actor_id` made the change. */
  | { kind: 'team_member_added' | 'team_member_removed'; team_id: string; user_id: string; actor_id: string; at: number }
  /**
   * A message for one user only, never stored (Mattermost's ephemeral post, type system_ephemeral): the outcome of
   * a command such as a shared-channel invite.
   */
  | { kind: 'ephemeral_post'; user_id: string; post: PostJson; at: number }
  /**
   * A profile changed that is not this server's to journal: a remote user created or updated by what its own
   * server sent (that server syncs it; this one only stores it).
   */
  | { kind: 'user_updated'; user_id: string; at: number };
