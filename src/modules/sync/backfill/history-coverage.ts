import type { PostRecord } from '../../chat/feed/channel-feed.service.js';
import type { SharedChannelRemoteRecord } from '../../shared-channel/shared-channel-store.service.js';

/** What of a (channel, remote) row says which history the remote has or is getting. */
export type HistoryScope = Pick<
  SharedChannelRemoteRecord,
  'first_post_seq' | 'backfill_state' | 'backfill_since' | 'backfill_until' | 'backfill_cursor_at' | 'backfill_cursor_id' | 'backfill_seq'
>;

/**
 * Where one of our posts from before the share (seq <= first_post_seq, one live sync does not send) stands with the
 * remote's history backfill:
 * - outside: not asked for (no backfill, older than asked, deleted before it was walked): the remote should not hold it;
 * - covered: handed over (the walk passed it, or an earlier walk did);
 * - pending: the running walk has not reached it yet.
 */
export function historyPosition(post: Pick<PostRecord, 'create_at' | 'id' | 'delete_at'>, scr: HistoryScope): 'outside' | 'covered' | 'pending' {
  const state = scr.backfill_state;
  if ((state !== 'running' && state !== 'done') || post.delete_at || post.create_at < scr.backfill_since) return 'outside';
  if (state === 'done' || inEarlierWalk(post, scr)) return 'covered';
  const beyond = post.create_at > scr.backfill_cursor_at || (post.create_at === scr.backfill_cursor_at && post.id > scr.backfill_cursor_id);
  return beyond ? 'pending' : 'covered';
}

/** An earlier walk covered posts from backfill_until on; the running one walks [since, until). */
function inEarlierWalk(post: Pick<PostRecord, 'create_at'>, scr: HistoryScope): boolean {
  return scr.backfill_until > 0 && post.create_at >= scr.backfill_until;
}

/**
 * What live sync does with a reaction or acknowledgement (stamped `itemSeq`) on a history post, so that each goes to
 * the remote exactly once and never before its post:
 * - drop: the post is outside the history, or the item is the walk's to send (stamped no later than the walk's start,
 *   backfill_seq: the walk reads those with the post);
 * - send: the post has been handed over;
 * - hold: wait (in the retry table) until the walk hands the post over.
 * An item in the retry table (`retried`) is owed whatever its stamp: it is sent or held, never dropped for that.
 */
export function historyItemRole(post: Pick<PostRecord, 'create_at' | 'id' | 'delete_at'>, itemSeq: number, retried: boolean, scr: HistoryScope): 'drop' | 'send' | 'hold' {
  const position = historyPosition(post, scr);
  if (position === 'outside') return 'drop';
  if (!retried && !inEarlierWalk(post, scr) && itemSeq <= scr.backfill_seq) return 'drop';
  return position === 'covered' ? 'send' : 'hold';
}
