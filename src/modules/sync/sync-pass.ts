import type { SharedChannelRecord, SharedChannelRemoteRecord } from '../shared-channel/shared-channel-store.service.js';
import type { PeerKind } from './sync-peer.entity.js';

export interface SentCounts {
  users: number;
  memberships: number;
  files: number;
  posts: number;
  reactions: number;
  acks: number;
  statuses: number;
  images: number;
}

export const noneSent = (): SentCounts => ({ users: 0, memberships: 0, files: 0, posts: 0, reactions: 0, acks: 0, statuses: 0, images: 0 });

/**
 * One sync pass of one shared channel to one remote, as every stream sees it. Streams run in the protocol's order
 * (users, memberships, attachments, posts, acknowledgements, reactions, statuses, profile images); what one learns
 * that a later one needs (the posts the receiver did not take) is recorded here.
 */
export interface PassContext {
  readonly channelId: string;
  readonly remoteId: string;
  /** The connection's name here (for messages an admin reads). */
  readonly remoteName: string;
  readonly peer: PeerKind;
  readonly scr: SharedChannelRemoteRecord;
  readonly share: SharedChannelRecord | null;
  readonly now: number;
  readonly maxAttempts: number;
  /** Largest message of this pass; lowered when the receiver refuses one as too large. */
  maxBytes: number;
  readonly sent: SentCounts;
  /**
   * Posts of this pass (or still held from earlier ones) the receiver does not have: refused, too large, waiting for
   * their root. Reactions and acknowledgements on them wait for them instead of being sent into a refusal.
   */
  readonly postsNotTaken: Set<string>;
  /** Posts the receiver took in this pass: what was held for them goes now, not after another pass. */
  readonly postsTaken: Set<string>;
  /** Something became due while the pass ran (items that waited for a post just accepted): run again at once. */
  again: boolean;
  /** The pass sends history (a backfill batch), not live changes: marked so in the delivery trace. */
  readonly backfill?: boolean;
}

/**
 * One kind of item: collected from its cursor (and its due retries), sent, and the cursor advanced past what the
 * receiver took or what is recorded to be retried; never past an item that is neither. `input` is what the stream
 * needs from those collected before it (the users the content refers to, the post cursor).
 */
export interface SyncStream<I, C, O> {
  collect(ctx: PassContext, input: I): Promise<C>;
  send(ctx: PassContext, collected: C): Promise<O>;
  advance(ctx: PassContext, collected: C, outcome: O): Promise<void>;
}
