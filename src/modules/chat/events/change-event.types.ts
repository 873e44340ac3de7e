/** Event name of every committed chat change (payload: ChangeEvent), on the app's EventEmitter2. */
export const CHAT_CHANGE_EVENT = 'chat.change';

/** Every kind of change the chat core reports. The sync engine and the WebSocket events react to these. */
export enum ChangeKind {
  PostCreated = 'post_created',
  PostEdited = 'post_edited',
  PostDeleted = 'post_deleted',
  ReactionAdded = 'reaction_added',
  ReactionRemoved = 'reaction_removed',
  AckAdded = 'acknowledgement_added',
  AckRemoved = 'acknowledgement_removed',
  MemberAdded = 'member_added',
  MemberRemoved = 'member_removed',
  UserUpdated = 'user_updated',
  UserPictureUpdated = 'user_picture_updated',
  StatusChanged = 'status_changed',
  ChannelUpdated = 'channel_updated',
  ChannelCreated = 'channel_created',
  /** Archived (soft-deleted); its members and content stay. */
  ChannelDeleted = 'channel_deleted',
}

interface Base {
  /** The channel the change belongs to; null for user-level changes (profile, picture, status). */
  channel_id: string | null;
  /** null when made on this server; the connection id of the server it came from otherwise. */
  origin_remote_id: string | null;
  /** When the change was committed here (ms). */
  at: number;
}

export type ChangeEvent =
  | (Base & { kind: ChangeKind.PostCreated | ChangeKind.PostEdited | ChangeKind.PostDeleted; channel_id: string; post_id: string; root_id: string })
  | (Base & { kind: ChangeKind.ReactionAdded | ChangeKind.ReactionRemoved; channel_id: string; post_id: string; user_id: string; emoji_name: string })
  | (Base & { kind: ChangeKind.AckAdded | ChangeKind.AckRemoved; channel_id: string; post_id: string; user_id: string })
  | (Base & {
      kind: ChangeKind.MemberAdded | ChangeKind.MemberRemoved;
      channel_id: string;
      user_id: string;
      /** Who added or removed the user, when it was one of this server's users (Mattermost's remover_id). */
      actor_id?: string;
    })
  | (Base & { kind: ChangeKind.UserUpdated | ChangeKind.UserPictureUpdated | ChangeKind.StatusChanged; channel_id: null; user_id: string })
  | (Base & {
      kind: ChangeKind.ChannelUpdated;
      channel_id: string;
      /** Who changed the display name, header or purpose (a user of this server, or a remote's synthetic user). */
      actor_id?: string;
    })
  | (Base & { kind: ChangeKind.ChannelCreated | ChangeKind.ChannelDeleted; channel_id: string });

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What a service reports; the journal stamps `at`. */
export type NewChangeEvent = DistributiveOmit<ChangeEvent, 'at'>;

/** Who made a change: `null` remote id = this server's own users through the API. */
export interface ChangeOrigin {
  remoteId: string | null;
}
export const LOCAL_ORIGIN: ChangeOrigin = Object.freeze({ remoteId: null });
