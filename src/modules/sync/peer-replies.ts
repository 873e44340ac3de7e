import { RemoteClusterTransportError } from '../remote-cluster/remote-cluster.client.js';
import type { SyncResponse } from '../shared-channel/wire.types.js';
import type { PeerKind } from './sync-peer.entity.js';

/** The kinds of a sharedchannel_sync message, one per stream that sends them. */
export type SyncKind = 'user' | 'membership' | 'post' | 'reaction' | 'acknowledgement' | 'status';

/**
 * When an `OK` reply without a payload means "everything in the message was accepted".
 *
 * - From a server of this project: never. Its receiver always answers a SyncResponse (with per-item errors, and
 *   with every item listed as refused when a feature is off), so a null payload means the message was not
 *   processed (a proxy, a bug): the pass fails and is retried, and no cursor moves.
 * - From a Mattermost peer, or a peer not identified yet (treated as Mattermost): only for the kinds whose
 *   Mattermost receiver reports nothing per item (protocol 5.7). Membership changes: it answers OK without a payload
 *   when its member sync is off (the changes will never apply; waiting would block the channel for good), and
 *   otherwise only whole-step error texts. Reactions: `reaction_errors` stays empty whatever happened. For users,
 *   posts, acknowledgements and statuses Mattermost always returns a SyncResponse with per-item information, so a
 *   null payload there is a failure too.
 */
export function nullPayloadMeansAccepted(kind: SyncKind, peer: PeerKind): boolean {
  if (peer === 'mmfed') return false;
  return kind === 'membership' || kind === 'reaction';
}

/** Error texts of receivers and proxies that refuse a body as too large (Mattermost, nginx, Express, our own). */
const TOO_LARGE_TEXTS = ['too large', 'too big', 'request_body_too_large', 'entity.too.large', 'maximumpayloadsize', 'payload size'];

export function isTooLargeText(text: string): boolean {
  const t = text.toLowerCase();
  return TOO_LARGE_TEXTS.some((s) => t.includes(s));
}

/** The peer refused the request because of its size: HTTP 413, or an error (status or FAIL text) that says so. */
export function isTooLargeRefusal(err: unknown): boolean {
  if (!(err instanceof RemoteClusterTransportError)) return false;
  if (err.kind === 'http_status' && err.status === 413) return true;
  return (err.kind === 'http_status' || err.kind === 'rejected') && isTooLargeText(err.message);
}

/**
 * The keys (see each stream) of `keys` that the reply says were not taken.
 *
 * - user: everyone not in `users_syncd` (Mattermost leaves failures out of `user_errors` and logs them).
 * - post: `post_errors` (post ids).
 * - reaction, acknowledgement: `reaction_errors` / `acknowledgement_errors` carry post ids: every item of the
 *   message on such a post counts as refused. `keys` are the items' post ids here.
 * - status: `status_errors` (user ids).
 * - membership: `membership_errors`. Our receiver lists user ids; Mattermost's lists the text of a step that failed
 *   as a whole: an entry that is not one of the message's user ids refuses the whole message.
 */
export function refusedKeys(kind: SyncKind, keys: string[], reply: SyncResponse): Set<string> {
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const inMessage = new Set(keys);
  switch (kind) {
    case 'user': {
      const syncd = new Set(list(reply.users_syncd));
      return new Set(keys.filter((k) => !syncd.has(k)));
    }
    case 'post':
      return new Set(list(reply.post_errors).filter((k) => inMessage.has(k)));
    case 'reaction':
      return new Set(list(reply.reaction_errors).filter((k) => inMessage.has(k)));
    case 'acknowledgement':
      return new Set(list(reply.acknowledgement_errors).filter((k) => inMessage.has(k)));
    case 'status':
      return new Set(list(reply.status_errors).filter((k) => inMessage.has(k)));
    case 'membership': {
      const errors = list(reply.membership_errors);
      if (errors.some((e) => !inMessage.has(e))) return new Set(keys);
      return new Set(errors);
    }
  }
}

/** Why the receiver refused an item it listed in its errors, when it says (our receivers do; Mattermost does not). */
export function refusalReason(kind: SyncKind, key: string, reply: SyncResponse | null): string | undefined {
  const reasons = reply?.error_reasons;
  if (!reasons || typeof reasons !== 'object' || Array.isArray(reasons)) return undefined;
  const reason = (reasons as Record<string, unknown>)[`${kind}:${key}`];
  return typeof reason === 'string' ? reason.slice(0, 200) : undefined;
}
