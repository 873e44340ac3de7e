import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Tx } from '../../../database/transaction-runner.js';
import type { PostAcknowledgementEntity } from '../posts/post-acknowledgement.entity.js';
import { type PostEntity, POST_WRITE_COLUMNS, pushPostParams } from '../posts/post.entity.js';
import type { ReactionEntity } from '../posts/reaction.entity.js';

export interface SeqCursor {
  seq: number;
  /** Tie-break within one seq (several rows written by one statement share it). */
  key: string;
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

function postRow(r: Record<string, unknown>): PostEntity {
  return {
    id: r.id as string,
    create_at: num(r.create_at),
    update_at: num(r.update_at),
    edit_at: num(r.edit_at),
    delete_at: num(r.delete_at),
    is_pinned: r.is_pinned as boolean,
    user_id: r.user_id as string,
    channel_id: r.channel_id as string,
    root_id: r.root_id as string,
    original_id: r.original_id as string,
    message: r.message as string,
    type: r.type as string,
    props: (r.props as Record<string, unknown> | null) ?? null,
    hashtags: r.hashtags as string,
    file_ids: (r.file_ids as string[]) ?? [],
    pending_post_id: r.pending_post_id as string,
    remote_id: (r.remote_id as string | null) ?? null,
    seq: num(r.seq),
  };
}

function reactionRow(r: Record<string, unknown>): ReactionEntity {
  return {
    user_id: r.user_id as string,
    post_id: r.post_id as string,
    emoji_name: r.emoji_name as string,
    create_at: num(r.create_at),
    update_at: num(r.update_at),
    delete_at: num(r.delete_at),
    remote_id: (r.remote_id as string | null) ?? null,
    channel_id: r.channel_id as string,
    seq: num(r.seq),
  };
}

function ackRow(r: Record<string, unknown>): PostAcknowledgementEntity {
  return {
    user_id: r.user_id as string,
    post_id: r.post_id as string,
    acknowledged_at: num(r.acknowledged_at),
    update_at: num(r.update_at),
    channel_id: r.channel_id as string,
    remote_id: (r.remote_id as string | null) ?? null,
    seq: num(r.seq),
  };
}

const POST_COLUMNS =
  'id, create_at, update_at, edit_at, delete_at, is_pinned, user_id, channel_id, root_id, original_id, message, type, props, hashtags, file_ids, pending_post_id, remote_id, seq';

/**
 * Set-based reads and writes of a channel's content by change sequence, for feeding it to and from elsewhere.
 * Plain SQL on purpose: this is the hot path of every sync, one query per kind per batch.
 */
@Injectable()
export class ChannelFeedRepository {
  constructor(private readonly db: DataSource) {}

  private q(tx: Tx | undefined) {
    return tx ?? this.db;
  }

  /**
   * The (seq, key) cursor just past every row of `table` in the channel written before `since` (ms): the highest seq
   * below the first row changed at or after `since`, with the largest key at that seq (several rows written by one
   * statement share a seq), so a (seq, key) > cursor scan starts exactly at what changed since.
   */
  async cursorBefore(table: 'posts' | 'reactions' | 'post_acknowledgements', channelId: string, since: number): Promise<SeqCursor> {
    const key = { posts: 'id', reactions: `user_id || ':' || post_id || ':' || emoji_name`, post_acknowledgements: `user_id || ':' || post_id` }[table];
    const rows = await this.db.query(
      `WITH s AS (
         SELECT COALESCE((SELECT MIN(seq) - 1 FROM ${table} WHERE channel_id = $1 AND update_at >= $2),
                         (SELECT last_seq FROM channels WHERE id = $1)) AS seq
       )
       SELECT s.seq, (SELECT MAX(${key}) FROM ${table} t WHERE t.channel_id = $1 AND t.seq = s.seq) AS key FROM s`,
      [channelId, since],
    );
    return { seq: num(rows[0]?.seq), key: (rows[0]?.key as string | null) ?? '' };
  }

  async postsAfter(channelId: string, after: SeqCursor, limit: number): Promise<PostEntity[]> {
    const rows: Record<string, unknown>[] = await this.db.query(
      `SELECT ${POST_COLUMNS} FROM posts WHERE channel_id = $1 AND (seq, id) > ($2, $3) ORDER BY seq, id LIMIT $4`,
      [channelId, after.seq, after.key, limit],
    );
    return rows.map(postRow);
  }

  async postsByIds(ids: string[], tx?: Tx): Promise<PostEntity[]> {
    if (!ids.length) return [];
    const rows: Record<string, unknown>[] = await this.q(tx).query(`SELECT ${POST_COLUMNS} FROM posts WHERE id = ANY($1)`, [ids]);
    return rows.map(postRow);
  }

  async reactionsAfter(channelId: string, after: SeqCursor, limit: number): Promise<Array<ReactionEntity & { key: string }>> {
    const rows: Record<string, unknown>[] = await this.db.query(
      `SELECT user_id, post_id, emoji_name, create_at, update_at, delete_at, remote_id, channel_id, seq,
              user_id || ':' || post_id || ':' || emoji_name AS key
         FROM reactions WHERE channel_id = $1 AND (seq, user_id || ':' || post_id || ':' || emoji_name) > ($2, $3)
        ORDER BY seq, key LIMIT $4`,
      [channelId, after.seq, after.key, limit],
    );
    return rows.map((r) => ({ ...reactionRow(r), key: r.key as string }));
  }

  async acksAfter(channelId: string, after: SeqCursor, limit: number): Promise<Array<PostAcknowledgementEntity & { key: string }>> {
    const rows: Record<string, unknown>[] = await this.db.query(
      `SELECT user_id, post_id, acknowledged_at, update_at, channel_id, remote_id, seq, user_id || ':' || post_id AS key
         FROM post_acknowledgements WHERE channel_id = $1 AND (seq, user_id || ':' || post_id) > ($2, $3)
        ORDER BY seq, key LIMIT $4`,
      [channelId, after.seq, after.key, limit],
    );
    return rows.map((r) => ({ ...ackRow(r), key: r.key as string }));
  }

  /** Reactions of the channel by key (user_id:post_id:emoji_name), as stored now (removed ones included). */
  async reactionsByKeys(channelId: string, keys: string[]): Promise<Array<ReactionEntity & { key: string }>> {
    const parts = keys.map((k) => k.split(':')).filter((p) => p.length === 3);
    if (!parts.length) return [];
    const rows: Record<string, unknown>[] = await this.db.query(
      `SELECT r.user_id, r.post_id, r.emoji_name, r.create_at, r.update_at, r.delete_at, r.remote_id, r.channel_id, r.seq
         FROM unnest($2::varchar[], $3::varchar[], $4::varchar[]) AS k(user_id, post_id, emoji_name)
         JOIN reactions r ON r.user_id = k.user_id AND r.post_id = k.post_id AND r.emoji_name = k.emoji_name
        WHERE r.channel_id = $1`,
      [channelId, parts.map((p) => p[0]), parts.map((p) => p[1]), parts.map((p) => p[2])],
    );
    return rows.map((r) => ({ ...reactionRow(r), key: `${r.user_id as string}:${r.post_id as string}:${r.emoji_name as string}` }));
  }

  /** Acknowledgements of the channel by key (user_id:post_id), as stored now (removed ones included). */
  async acksByKeys(channelId: string, keys: string[]): Promise<Array<PostAcknowledgementEntity & { key: string }>> {
    const parts = keys.map((k) => k.split(':')).filter((p) => p.length === 2);
    if (!parts.length) return [];
    const rows: Record<string, unknown>[] = await this.db.query(
      `SELECT a.user_id, a.post_id, a.acknowledged_at, a.update_at, a.channel_id, a.remote_id, a.seq
         FROM unnest($2::varchar[], $3::varchar[]) AS k(user_id, post_id)
         JOIN post_acknowledgements a ON a.user_id = k.user_id AND a.post_id = k.post_id
        WHERE a.channel_id = $1`,
      [channelId, parts.map((p) => p[0]), parts.map((p) => p[1])],
    );
    return rows.map((r) => ({ ...ackRow(r), key: `${r.user_id as string}:${r.post_id as string}` }));
  }

  /**
   * Active reactions on `postIds` stamped at or before `maxSeq` and not from `exceptRemote`: what a history backfill
   * sends with those posts (later changes are live sync's).
   */
  async reactionsOfPosts(channelId: string, postIds: string[], maxSeq: number, exceptRemote: string): Promise<Array<ReactionEntity & { key: string }>> {
    if (!postIds.length) return [];
    const rows: Record<string, unknown>[] = await this.db.query(
      `SELECT user_id, post_id, emoji_name, create_at, update_at, delete_at, remote_id, channel_id, seq,
              user_id || ':' || post_id || ':' || emoji_name AS key
         FROM reactions WHERE post_id = ANY($2) AND channel_id = $1 AND seq <= $3 AND delete_at = 0 AND remote_id IS DISTINCT FROM $4
        ORDER BY seq, key`,
      [channelId, postIds, maxSeq, exceptRemote],
    );
    return rows.map((r) => ({ ...reactionRow(r), key: r.key as string }));
  }

  /** Acknowledgements (not removed) on `postIds` stamped at or before `maxSeq`, not from `exceptRemote` (see above). */
  async acksOfPosts(channelId: string, postIds: string[], maxSeq: number, exceptRemote: string): Promise<Array<PostAcknowledgementEntity & { key: string }>> {
    if (!postIds.length) return [];
    const rows: Record<string, unknown>[] = await this.db.query(
      `SELECT user_id, post_id, acknowledged_at, update_at, channel_id, remote_id, seq, user_id || ':' || post_id AS key
         FROM post_acknowledgements
        WHERE post_id = ANY($2) AND channel_id = $1 AND seq <= $3 AND acknowledged_at > 0 AND remote_id IS DISTINCT FROM $4
        ORDER BY seq, key`,
      [channelId, postIds, maxSeq, exceptRemote],
    );
    return rows.map((r) => ({ ...ackRow(r), key: r.key as string }));
  }

  /** The channel's change sequence now: every post, reaction or acknowledgement stamped up to it has committed. */
  async channelSeq(channelId: string): Promise<number> {
    const rows = await this.db.query('SELECT last_seq FROM channels WHERE id = $1', [channelId]);
    return num(rows[0]?.last_seq);
  }

  /** Changes to users (profile, picture, status) journalled after `seq`, for users who are members of the channel. */
  async userEventsAfter(channelId: string, seq: number, limit: number): Promise<Array<{ seq: number; kind: string; user_id: string }>> {
    const rows: Array<{ seq: string; kind: string; user_id: string }> = await this.db.query(
      // order_seq, not seq: commit order (see ChangeEventEntity.order_seq), so the cursor never passes a late commit.
      `SELECT e.order_seq AS seq, e.kind, e.data->>'user_id' AS user_id
         FROM change_events e
        WHERE e.channel_id IS NULL AND e.order_seq > $2
          AND e.kind IN ('user_updated', 'user_picture_updated', 'status_changed')
          AND EXISTS (SELECT 1 FROM channel_members m WHERE m.channel_id = $1 AND m.user_id = e.data->>'user_id')
        ORDER BY e.order_seq LIMIT $3`,
      [channelId, seq, limit],
    );
    return rows.map((r) => ({ seq: Number(r.seq), kind: r.kind, user_id: r.user_id }));
  }

  /** member_added / member_removed of the channel journalled after `seq`, oldest first. */
  async memberEventsAfter(
    channelId: string,
    seq: number,
    limit: number,
  ): Promise<Array<{ seq: number; kind: string; user_id: string; origin_remote_id: string | null; create_at: number }>> {
    const rows: Array<{ seq: string; kind: string; user_id: string; origin_remote_id: string | null; create_at: string }> = await this.db.query(
      `SELECT order_seq AS seq, kind, data->>'user_id' AS user_id, origin_remote_id, create_at
         FROM change_events
        WHERE channel_id = $1 AND order_seq > $2 AND kind IN ('member_added', 'member_removed')
        ORDER BY order_seq LIMIT $3`,
      [channelId, seq, limit],
    );
    return rows.map((r) => ({ ...r, seq: Number(r.seq), create_at: num(r.create_at) }));
  }

  /** Who made the channel's latest details change (ChannelUpdated's actor), if the journal names one. */
  async lastChannelUpdateActor(channelId: string): Promise<string | null> {
    const rows: Array<{ actor_id: string | null }> = await this.db.query(
      `SELECT data->>'actor_id' AS actor_id FROM change_events
        WHERE channel_id = $1 AND kind = 'channel_updated' ORDER BY seq DESC LIMIT 1`,
      [channelId],
    );
    return rows[0]?.actor_id ?? null;
  }

  /** Those of `userIds` who are members of the channel. */
  async channelMemberIds(channelId: string, userIds: string[]): Promise<string[]> {
    if (!userIds.length) return [];
    const rows: Array<{ user_id: string }> = await this.db.query(
      'SELECT user_id FROM channel_members WHERE channel_id = $1 AND user_id = ANY($2)',
      [channelId, userIds],
    );
    return rows.map((r) => r.user_id);
  }

  /** Those of `userIds` who are active members of the team. */
  async teamMemberIds(teamId: string, userIds: string[]): Promise<string[]> {
    if (!teamId || !userIds.length) return [];
    const rows: Array<{ user_id: string }> = await this.db.query(
      'SELECT user_id FROM team_members WHERE team_id = $1 AND user_id = ANY($2) AND delete_at = 0',
      [teamId, userIds],
    );
    return rows.map((r) => r.user_id);
  }

  /** Where the user-level journal (commit order) ends now: a new share's user-event cursor starts here. */
  async lastUserJournalSeq(): Promise<number> {
    const rows = await this.db.query('SELECT COALESCE(MAX(order_seq), 0) AS seq FROM change_events WHERE channel_id IS NULL');
    return num(rows[0]?.seq);
  }

  async usersByIds(ids: string[], tx?: Tx): Promise<Array<{ id: string; remote_id: string | null; username: string; delete_at: number }>> {
    if (!ids.length) return [];
    const rows: Array<{ id: string; remote_id: string | null; username: string; delete_at: string }> = await this.q(tx).query(
      'SELECT id, remote_id, username, delete_at FROM users WHERE id = ANY($1)',
      [ids],
    );
    return rows.map((r) => ({ ...r, delete_at: num(r.delete_at) }));
  }

  /**
   * Upserts posts written elsewhere. A row is written when it is new, or when it is newer (update_at, then
   * delete_at, then message as a deterministic tie-break) than the stored one of the same channel and origin, or with
   * `force` (a repair from the origin) when it differs at all. A post equal on those three but with other props is
   * written too: Mattermost 11 sends a whole post again, update_at unchanged, when only one of its property values
   * changed (flattened into props), and only the post's origin sends it (the origin check above), so its latest
   * props win. Returns the ids written and whether each was an insert.
   */
  async upsertPosts(tx: Tx, posts: PostEntity[], force = false): Promise<Array<{ id: string; inserted: boolean }>> {
    if (!posts.length) return [];
    const params: unknown[] = [];
    const values = posts.map((p) => `(${pushPostParams(params, p).join(', ')})`);
    const rows: Array<{ id: string; inserted: boolean }> = await tx.query(
      `INSERT INTO posts (${POST_WRITE_COLUMNS.join(', ')}) VALUES ${values.join(', ')}
       ON CONFLICT (id) DO UPDATE SET
         update_at = EXCLUDED.update_at, edit_at = EXCLUDED.edit_at, delete_at = EXCLUDED.delete_at,
         is_pinned = EXCLUDED.is_pinned, message = EXCLUDED.message, type = EXCLUDED.type, props = EXCLUDED.props,
         hashtags = EXCLUDED.hashtags, file_ids = EXCLUDED.file_ids
       WHERE posts.channel_id = EXCLUDED.channel_id
         AND posts.remote_id IS NOT DISTINCT FROM EXCLUDED.remote_id
         AND ${
           force
             ? `(EXCLUDED.update_at, EXCLUDED.edit_at, EXCLUDED.delete_at, EXCLUDED.is_pinned, EXCLUDED.message, EXCLUDED.type, EXCLUDED.props, EXCLUDED.file_ids)
                 IS DISTINCT FROM (posts.update_at, posts.edit_at, posts.delete_at, posts.is_pinned, posts.message, posts.type, posts.props, posts.file_ids)`
             : `((EXCLUDED.update_at, EXCLUDED.delete_at, EXCLUDED.message) > (posts.update_at, posts.delete_at, posts.message)
                 OR ((EXCLUDED.update_at, EXCLUDED.delete_at, EXCLUDED.message) = (posts.update_at, posts.delete_at, posts.message)
                     AND EXCLUDED.props IS DISTINCT FROM posts.props))`
         }
       RETURNING id, (xmax = 0) AS inserted`,
      params,
    );
    return rows;
  }

  /**
   * The live replies of a root deleted at `deleteAt`, deleted with that time, as the root's server deleted them: so
   * every server ends with the same rows. A reply of this server's moves its update_at up to that time (it is a
   * change of ours, and goes out); one written elsewhere keeps its update_at, so its own server's version (deleted
   * the same way when the root's deletion reaches it, or edited there before) still wins here. Returns them.
   */
  async deleteReplies(tx: Tx, channelId: string, rootId: string, deleteAt: number): Promise<Array<{ id: string; remote_id: string | null }>> {
    const rows: Array<{ id: string; remote_id: string | null }> = await tx.query(
      `WITH gone AS (
         UPDATE posts SET delete_at = $3, update_at = CASE WHEN remote_id IS NULL THEN GREATEST(update_at, $3) ELSE update_at END
          WHERE root_id = $2 AND channel_id = $1 AND delete_at = 0
          RETURNING id, remote_id
       )
       SELECT id, remote_id FROM gone`,
      [channelId, rootId, deleteAt],
    );
    return rows;
  }

  /** Removes posts of one origin with their reactions and acknowledgements; the ids removed. */
  async deletePosts(tx: Tx, channelId: string, ids: string[], remoteId: string): Promise<string[]> {
    const rows: Array<{ id: string }> = await tx.query(
      `WITH gone AS (
         DELETE FROM posts WHERE id = ANY($2) AND channel_id = $1 AND remote_id = $3 RETURNING id
       ), r AS (
         DELETE FROM reactions WHERE post_id IN (SELECT id FROM gone)
       ), a AS (
         DELETE FROM post_acknowledgements WHERE post_id IN (SELECT id FROM gone)
       )
       SELECT id FROM gone`,
      [channelId, ids, remoteId],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Attaches unattached files of the channel to a post written elsewhere (those present locally): only files the
   * post's author created and the same origin sent, so a post cannot claim somebody else's upload.
   */
  async attachFiles(tx: Tx, post: Pick<PostEntity, 'id' | 'channel_id' | 'user_id' | 'remote_id' | 'file_ids'>, now: number): Promise<void> {
    if (!post.file_ids?.length) return;
    await tx.query(
      `UPDATE file_infos SET post_id = $2, update_at = $4
        WHERE id = ANY($3) AND channel_id = $1 AND post_id = '' AND creator_id = $5 AND remote_id IS NOT DISTINCT FROM $6`,
      [post.channel_id, post.id, post.file_ids, now, post.user_id, post.remote_id],
    );
  }

  /** Reactions as state: newer update_at wins (a removal wins a tie); `force`: any that differs. Returns the rows written. */
  async upsertReactions(tx: Tx, rows: ReactionEntity[], force = false): Promise<Array<{ user_id: string; post_id: string; emoji_name: string; delete_at: number }>> {
    if (!rows.length) return [];
    const params: unknown[] = [];
    const values = rows.map((r) => {
      params.push(r.user_id, r.post_id, r.emoji_name, r.create_at, r.update_at, r.delete_at, r.remote_id, r.channel_id);
      const n = params.length;
      return `($${n - 7}, $${n - 6}, $${n - 5}, $${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, $${n})`;
    });
    const out: Array<{ user_id: string; post_id: string; emoji_name: string; delete_at: string }> = await tx.query(
      `INSERT INTO reactions (user_id, post_id, emoji_name, create_at, update_at, delete_at, remote_id, channel_id)
       VALUES ${values.join(', ')}
       ON CONFLICT (user_id, post_id, emoji_name) DO UPDATE SET
         create_at = EXCLUDED.create_at, update_at = EXCLUDED.update_at, delete_at = EXCLUDED.delete_at, remote_id = EXCLUDED.remote_id
       WHERE ${
         force
           ? '(EXCLUDED.create_at, EXCLUDED.update_at, EXCLUDED.delete_at, EXCLUDED.remote_id) IS DISTINCT FROM (reactions.create_at, reactions.update_at, reactions.delete_at, reactions.remote_id)'
           : '(EXCLUDED.update_at, EXCLUDED.delete_at) > (reactions.update_at, reactions.delete_at)'
       }
       RETURNING user_id, post_id, emoji_name, delete_at`,
      params,
    );
    return out.map((r) => ({ ...r, delete_at: num(r.delete_at) }));
  }

  /** Acknowledgements as state, applied in arrival order (the wire carries no removal time). */
  async upsertAcks(tx: Tx, rows: PostAcknowledgementEntity[]): Promise<Array<{ user_id: string; post_id: string; acknowledged_at: number }>> {
    if (!rows.length) return [];
    const params: unknown[] = [];
    const values = rows.map((r) => {
      params.push(r.user_id, r.post_id, r.acknowledged_at, r.update_at, r.channel_id, r.remote_id);
      const n = params.length;
      return `($${n - 5}, $${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, $${n})`;
    });
    const out: Array<{ user_id: string; post_id: string; acknowledged_at: string }> = await tx.query(
      `INSERT INTO post_acknowledgements (user_id, post_id, acknowledged_at, update_at, channel_id, remote_id)
       VALUES ${values.join(', ')}
       ON CONFLICT (user_id, post_id) DO UPDATE SET
         acknowledged_at = EXCLUDED.acknowledged_at, update_at = EXCLUDED.update_at, remote_id = EXCLUDED.remote_id
       WHERE post_acknowledgements.acknowledged_at IS DISTINCT FROM EXCLUDED.acknowledged_at
       RETURNING user_id, post_id, acknowledged_at`,
      params,
    );
    return out.map((r) => ({ ...r, acknowledged_at: num(r.acknowledged_at) }));
  }
}
