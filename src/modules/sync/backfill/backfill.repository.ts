import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** The history one walk covers: our posts from before the share, created in [since, until), not from the remote. */
export interface WalkScope {
  channelId: string;
  remoteId: string;
  /** History is what live sync does not send: posts stamped at or before shared_channel_remotes.first_post_seq. */
  firstPostSeq: number;
  since: number;
  /** 0: no upper bound. */
  until: number;
}

export interface WalkCursor {
  at: number;
  id: string;
}

/** A post of the history: $1 channel, $2 first_post_seq, $3 the remote (its own posts never go back to it). */
const history = (p = '') =>
  `${p}channel_id = $1 AND ${p}seq <= $2 AND ${p}delete_at = 0 AND ${p}type NOT LIKE 'system\\_%' AND ${p}remote_id IS DISTINCT FROM $3`;

/**
 * The history backfill's reads over the chat tables (oldest first by (create_at, id): idx_posts_channel_create_at_id)
 * and its release of the retry rows that wait for the posts it hands over.
 */
@Injectable()
export class BackfillRepository {
  constructor(private readonly db: DataSource) {}

  /** The next posts of the walk after the cursor, oldest first. */
  async nextBatch(w: WalkScope, after: WalkCursor, limit: number): Promise<Array<{ id: string; create_at: number }>> {
    const rows: Array<{ id: string; create_at: string }> = await this.db.query(
      `SELECT id, create_at FROM posts
        WHERE ${history()} AND (create_at, id) > ($4, $5) AND ($6::bigint = 0 OR create_at < $6)
        ORDER BY create_at, id LIMIT $7`,
      [w.channelId, w.firstPostSeq, w.remoteId, after.at, after.id, w.until, limit],
    );
    return rows.map((r) => ({ id: r.id, create_at: Number(r.create_at) }));
  }

  /** Items the walk will send: its posts, and the reactions and acknowledgements on them stamped up to `maxSeq`. */
  async countItems(w: WalkScope, maxSeq: number): Promise<number> {
    const rows: Array<{ n: string }> = await this.db.query(
      `WITH h AS (SELECT id FROM posts WHERE ${history()} AND create_at >= $4 AND ($5::bigint = 0 OR create_at < $5))
       SELECT (SELECT count(*) FROM h)
            + (SELECT count(*) FROM reactions r JOIN h ON h.id = r.post_id
                WHERE r.channel_id = $1 AND r.delete_at = 0 AND r.seq <= $6 AND r.remote_id IS DISTINCT FROM $3)
            + (SELECT count(*) FROM post_acknowledgements a JOIN h ON h.id = a.post_id
                WHERE a.channel_id = $1 AND a.acknowledged_at > 0 AND a.seq <= $6 AND a.remote_id IS DISTINCT FROM $3) AS n`,
      [w.channelId, w.firstPostSeq, w.remoteId, w.since, w.until, maxSeq],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** The oldest root, created before `w.since`, of a reply the walk would send; null when there is none. */
  async oldestOutsideRoot(w: WalkScope): Promise<number | null> {
    const rows: Array<{ at: string | null }> = await this.db.query(
      `SELECT MIN(r.create_at) AS at FROM posts p JOIN posts r ON r.id = p.root_id AND r.channel_id = p.channel_id
        WHERE ${history('p.')} AND p.create_at >= $4 AND ($5::bigint = 0 OR p.create_at < $5)
          AND p.root_id <> '' AND r.create_at < $4 AND r.delete_at = 0`,
      [w.channelId, w.firstPostSeq, w.remoteId, w.since, w.until],
    );
    return rows[0]?.at === null || rows[0]?.at === undefined ? null : Number(rows[0].at);
  }

  /**
   * Whether live sync has yet to scan a reaction or acknowledgement stamped at or before `seq` (past its cursors):
   * one it would take for its own on history an earlier walk already sent.
   */
  async liveScanPending(channelId: string, cursors: { reaction: WalkCursor; ack: WalkCursor }, seq: number): Promise<boolean> {
    const rows: Array<{ behind: boolean }> = await this.db.query(
      `SELECT EXISTS (SELECT 1 FROM reactions WHERE channel_id = $1 AND seq <= $6 AND (seq, user_id || ':' || post_id || ':' || emoji_name) > ($2, $3))
           OR EXISTS (SELECT 1 FROM post_acknowledgements WHERE channel_id = $1 AND seq <= $6 AND (seq, user_id || ':' || post_id) > ($4, $5)) AS behind`,
      [channelId, cursors.reaction.at, cursors.reaction.id, cursors.ack.at, cursors.ack.id, seq],
    );
    return rows[0]?.behind === true;
  }

  /** Those of `postIds` changed since live sync's start (first_post_seq): live sync sends them, newest last. */
  async changedSince(channelId: string, postIds: string[], firstPostSeq: number): Promise<string[]> {
    if (!postIds.length) return [];
    const rows: Array<{ id: string }> = await this.db.query('SELECT id FROM posts WHERE id = ANY($2) AND channel_id = $1 AND seq > $3', [
      channelId,
      postIds,
      firstPostSeq,
    ]);
    return rows.map((r) => r.id);
  }

  /**
   * Retry rows waiting for a post created in (from, to] (what live sync held until the walk handed the post over)
   * are due now, unless the post itself is held for the remote (refused: they wait for its acceptance). How many.
   */
  async releaseWaitingBetween(channelId: string, remoteId: string, from: WalkCursor, to: WalkCursor, now: number): Promise<number> {
    const rows: Array<{ n: number }> = await this.db.query(
      `WITH released AS (
         UPDATE sync_item_retries t SET waiting_for = '', next_attempt_at = $7, update_at = $7
          WHERE t.remote_id = $1 AND t.channel_id = $2 AND t.waiting_for <> ''
            AND t.waiting_for IN (SELECT p.id FROM posts p WHERE p.channel_id = $2 AND (p.create_at, p.id) > ($3, $4) AND (p.create_at, p.id) <= ($5, $6))
            AND NOT EXISTS (SELECT 1 FROM sync_item_retries h
                             WHERE h.remote_id = $1 AND h.channel_id = $2 AND h.kind = 'post' AND h.item_key = t.waiting_for)
          RETURNING 1
       )
       SELECT count(*)::int AS n FROM released`,
      [remoteId, channelId, from.at, from.id, to.at, to.id, now],
    );
    return rows[0]?.n ?? 0;
  }
}
