import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ChannelConsistencyEntity, type ConsistencyCounts, type ConsistencyResult } from './channel-consistency.entity.js';

/** The four kinds of state a consistency check compares. */
export const DIGEST_KINDS = ['posts', 'reactions', 'acks', 'members'] as const;
export type DigestKind = (typeof DIGEST_KINDS)[number];

/**
 * Which half of a channel's state, seen from one server of a pair: 'mine' = what this server owns or relays and the
 * peer should hold (not stamped with the peer's id; posts since the share began), 'yours' = what it holds from the
 * peer (stamped with the peer's id). One side's 'mine' must equal the other side's 'yours'.
 */
export type Side = 'mine' | 'yours';

export interface DigestScope {
  channelId: string;
  /** The other server of the pair. */
  peerId: string;
  /** shared_channel_remotes.first_post_seq of the pair on this server. */
  firstPostSeq: number;
  /**
   * The lowest create_at of the history a finished backfill handed over (our posts from before the share, not deleted,
   * created since then, are the remote's to hold too); null when none did.
   */
  historySince: number | null;
}

/** XOR of 64-bit hashes (hex) and the number of items under one key prefix. */
export interface Bucket {
  hash: string;
  count: number;
}

export interface DigestItem {
  key: string;
  /** What must be equal on both sides besides the key ('' where presence is all that counts). */
  version: string;
}

/**
 * Every digest is one aggregate over one index-only scan (idx_posts_consistency, idx_reactions_consistency,
 * idx_post_acknowledgements_consistency; the members' primary key), grouped by key prefix: a check reads no table rows
 * and sends only hashes until it has narrowed a difference down to a few dozen keys.
 *
 * Keys: a post's id; `post_id:user_id:emoji_name` for a reaction and `post_id:user_id` for an acknowledgement (bucketed
 * by post id); a member's user id. Versions: a post's `update_at:delete_at`; for the others, being there (an active
 * reaction, an acknowledgement with acknowledged_at > 0, a member) is the state.
 */
interface KindSql {
  /** FROM and WHERE for one side: $1 channel, $2 peer, $3 first post seq; `history` is the backfilled-history clause. */
  from: (side: Side, history: string) => string;
  /** The column the prefix buckets are taken from. */
  bucket: string;
  key: string;
  version: string;
  /** The row's channel sequence (for in-flight detection; members have none). */
  seq: string | null;
}

const SYSTEM = `'system\\_%'`;
/**
 * Roots with a reply written since the share began ($1 channel, $3 first post seq): a root from before the share goes
 * to the remote with such a reply (the reply would be refused without it), so the remote holds it. Its reactions and
 * acknowledgements are not sent (history), so only posts count these roots. One hashed subplan per query.
 */
const REPLIED_ROOTS = `SELECT r.root_id FROM posts r WHERE r.channel_id = $1 AND r.seq > $3 AND r.root_id <> ''`;
const sharedPost = (history: string) => `(p.remote_id = $2 OR ((p.seq > $3 OR ${history}) AND p.type NOT LIKE ${SYSTEM}))`;

/**
 * Which of our posts from before the share the remote holds: none (FALSE, folded away by the planner), all that are
 * not deleted (an index-only condition: delete_at is in idx_posts_consistency), or those since a time (create_at is
 * not in the index: such a check reads the posts' rows).
 */
function historyClause(scope: DigestScope): string {
  if (scope.historySince === null) return 'FALSE';
  if (scope.historySince <= 0) return 'p.delete_at = 0';
  return `(p.create_at >= ${Math.trunc(scope.historySince)} AND p.delete_at = 0)`;
}

const KINDS: Record<DigestKind, KindSql> = {
  posts: {
    from: (side, history) =>
      `FROM posts p WHERE p.channel_id = $1 AND p.type NOT LIKE ${SYSTEM} AND ${side === 'mine' ? `p.remote_id IS DISTINCT FROM $2 AND (p.seq > $3 OR ${history} OR p.id IN (${REPLIED_ROOTS}))` : 'p.remote_id = $2'}`,
    bucket: 'p.id',
    key: 'p.id',
    version: `p.update_at || ':' || p.delete_at`,
    seq: 'p.seq',
  },
  reactions: {
    from: (side, history) =>
      side === 'mine'
        ? `FROM reactions r JOIN posts p ON p.id = r.post_id
           WHERE r.channel_id = $1 AND r.delete_at = 0 AND r.remote_id IS DISTINCT FROM $2 AND ${sharedPost(history)}`
        : 'FROM reactions r WHERE r.channel_id = $1 AND r.delete_at = 0 AND r.remote_id = $2',
    bucket: 'r.post_id',
    key: `r.post_id || ':' || r.user_id || ':' || r.emoji_name`,
    version: `''`,
    seq: 'r.seq',
  },
  acks: {
    from: (side, history) =>
      side === 'mine'
        ? `FROM post_acknowledgements a JOIN posts p ON p.id = a.post_id
           WHERE a.channel_id = $1 AND a.acknowledged_at > 0 AND a.remote_id IS DISTINCT FROM $2 AND ${sharedPost(history)}`
        : 'FROM post_acknowledgements a WHERE a.channel_id = $1 AND a.acknowledged_at > 0 AND a.remote_id = $2',
    bucket: 'a.post_id',
    key: `a.post_id || ':' || a.user_id`,
    version: `''`,
    seq: 'a.seq',
  },
  members: {
    // Membership sync carries each server's own users only: this server's local users, and the peer's.
    from: (side) =>
      `FROM channel_members m JOIN users u ON u.id = m.user_id
       WHERE m.channel_id = $1 AND ${side === 'mine' ? 'u.remote_id IS NULL' : 'u.remote_id = $2'}`,
    bucket: 'm.user_id',
    key: 'm.user_id',
    version: `''`,
    seq: null,
  },
};

/** FROM/WHERE of one side; every query passes the same three parameters, so unused ones still need a type. */
function fromClause(kind: DigestKind, side: Side, scope: DigestScope): string {
  let sql = KINDS[kind].from(side, historyClause(scope));
  if (!sql.includes('$2')) sql += ' AND $2::varchar IS NOT NULL';
  if (!sql.includes('$3')) sql += ' AND $3::bigint IS NOT NULL';
  return sql;
}

@Injectable()
export class ConsistencyRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * Buckets of one side of one kind by key prefix of `length` (0: one bucket for everything), only under the
   * `within` prefixes (all of one length) when given. Empty buckets are absent.
   */
  async buckets(scope: DigestScope, kind: DigestKind, side: Side, length: number, within: string[] | null): Promise<Map<string, Bucket>> {
    const k = KINDS[kind];
    const params: unknown[] = [scope.channelId, scope.peerId, scope.firstPostSeq, length];
    let filter = '';
    if (within) {
      if (!within.length) return new Map();
      params.push(within, within[0].length);
      filter = ` AND substr(${k.bucket}, 1, $6) = ANY($5::text[])`;
    }
    const rows: Array<{ b: string; h: string; n: number }> = await this.db.query(
      `SELECT substr(${k.bucket}, 1, $4) AS b, to_hex(bit_xor(hashtextextended(${k.key} || '|' || ${k.version}, 0))) AS h, count(*)::int AS n
       ${fromClause(kind, side, scope)}${filter}
       GROUP BY 1`,
      params,
    );
    return new Map(rows.map((r) => [r.b, { hash: r.h, count: r.n }]));
  }

  /** Those of `postIds` with a reply in the channel written since the share began (see REPLIED_ROOTS). */
  async repliedRoots(channelId: string, firstPostSeq: number, postIds: string[]): Promise<Set<string>> {
    if (!postIds.length) return new Set();
    const rows: Array<{ root_id: string }> = await this.db.query(
      `SELECT DISTINCT r.root_id FROM posts r WHERE r.channel_id = $1 AND r.seq > $2 AND r.root_id = ANY($3::text[])`,
      [channelId, firstPostSeq, postIds],
    );
    return new Set(rows.map((r) => r.root_id));
  }

  /** The items of one side of one kind under `prefixes` (all of one length), with their channel sequence. */
  async items(scope: DigestScope, kind: DigestKind, side: Side, prefixes: string[]): Promise<Array<DigestItem & { seq: number }>> {
    if (!prefixes.length) return [];
    const k = KINDS[kind];
    const rows: Array<{ key: string; version: string; seq: string | null }> = await this.db.query(
      `SELECT ${k.key} AS key, ${k.version} AS version, ${k.seq ?? 'NULL'} AS seq
       ${fromClause(kind, side, scope)} AND substr(${k.bucket}, 1, $5) = ANY($4::text[])`,
      [scope.channelId, scope.peerId, scope.firstPostSeq, prefixes, prefixes[0].length],
    );
    return rows.map((r) => ({ key: r.key, version: r.version, seq: r.seq === null ? 0 : Number(r.seq) }));
  }

  /**
   * Keys under `prefixes` written after `afterSeq` (for members: with a membership change journalled after it),
   * whatever their state: changes the sync engine has not delivered yet, in flight rather than divergent.
   */
  async recentKeys(channelId: string, kind: DigestKind, prefixes: string[], after: { seq: number; key: string }): Promise<string[]> {
    if (!prefixes.length) return [];
    const len = prefixes[0].length;
    // Exactly what the sync streams have not passed yet: the same (seq, key) order their cursors follow (posts by
    // (seq, id), reactions by (seq, user:post:emoji), acknowledgements by (seq, user:post); membership events by
    // their unique order_seq). The item at the cursor itself has been delivered and is compared like any other.
    const sql: Record<DigestKind, string> = {
      posts: `SELECT id AS key FROM posts WHERE channel_id = $1 AND (seq, id) > ($2, $5) AND substr(id, 1, $4) = ANY($3::text[])`,
      reactions: `SELECT post_id || ':' || user_id || ':' || emoji_name AS key FROM reactions
                   WHERE channel_id = $1 AND (seq, user_id || ':' || post_id || ':' || emoji_name) > ($2, $5)
                     AND substr(post_id, 1, $4) = ANY($3::text[])`,
      acks: `SELECT post_id || ':' || user_id AS key FROM post_acknowledgements
              WHERE channel_id = $1 AND (seq, user_id || ':' || post_id) > ($2, $5) AND substr(post_id, 1, $4) = ANY($3::text[])`,
      members: `SELECT DISTINCT data->>'user_id' AS key FROM change_events
                 WHERE channel_id = $1 AND order_seq > $2 AND kind IN ('member_added', 'member_removed')
                   AND substr(data->>'user_id', 1, $4) = ANY($3::text[])`,
    };
    const params = [channelId, after.seq, prefixes, len, ...(kind === 'members' ? [] : [after.key])];
    const rows: Array<{ key: string }> = await this.db.query(sql[kind], params);
    return rows.map((r) => r.key);
  }

  /** Item keys of `kind` held in the retry table for the remote (waiting, backing off or parked). */
  async heldRetryKeys(channelId: string, remoteId: string, kind: 'post' | 'reaction' | 'acknowledgement' | 'membership'): Promise<string[]> {
    const rows: Array<{ item_key: string }> = await this.db.query(
      'SELECT item_key FROM sync_item_retries WHERE remote_id = $1 AND channel_id = $2 AND kind = $3',
      [remoteId, channelId, kind],
    );
    return rows.map((r) => r.item_key);
  }

  find(channelId: string, remoteId: string): Promise<ChannelConsistencyEntity | null> {
    return this.db.getRepository(ChannelConsistencyEntity).findOneBy({ channel_id: channelId, remote_id: remoteId });
  }

  /** Records one check's outcome and when the next periodic one is due. */
  async saveResult(
    channelId: string,
    remoteId: string,
    r: {
      at: number;
      result: ConsistencyResult;
      error: string;
      divergent: number;
      repaired: number;
      counts: ConsistencyCounts;
      digestBytes: number;
      repairBytes: number;
      durationMs: number;
      nextAt: number;
    },
  ): Promise<void> {
    await this.db.query(
      `INSERT INTO shared_channel_consistency
              (channel_id, remote_id, last_check_at, last_result, last_error, divergent, repaired, counts, digest_bytes, repair_bytes,
               duration_ms, checks, divergent_total, repaired_total, next_check_at, update_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $6, $7, $12, $3)
       ON CONFLICT (channel_id, remote_id) DO UPDATE SET
         last_check_at = EXCLUDED.last_check_at, last_result = EXCLUDED.last_result, last_error = EXCLUDED.last_error,
         divergent = EXCLUDED.divergent, repaired = EXCLUDED.repaired, counts = EXCLUDED.counts,
         digest_bytes = EXCLUDED.digest_bytes, repair_bytes = EXCLUDED.repair_bytes, duration_ms = EXCLUDED.duration_ms,
         checks = shared_channel_consistency.checks + 1,
         divergent_total = shared_channel_consistency.divergent_total + EXCLUDED.divergent,
         repaired_total = shared_channel_consistency.repaired_total + EXCLUDED.repaired,
         next_check_at = GREATEST(shared_channel_consistency.next_check_at, EXCLUDED.next_check_at),
         update_at = EXCLUDED.update_at`,
      [channelId, remoteId, r.at, r.result, r.error.slice(0, 1024), r.divergent, r.repaired, JSON.stringify(r.counts), r.digestBytes, r.repairBytes, r.durationMs, r.nextAt],
    );
  }

  /**
   * The periodic trigger's query: (channel, remote) pairs of channels this server is the home of, confirmed, with an
   * online remote that is not known to be a Mattermost server. Pairs never checked get their slot in the period
   * (spread by a hash of the pair, so a thousand channels do not all come due at once); due pairs are returned and
   * pushed one period on, so the next trigger does not pick them again while their check runs.
   */
  async claimDue(now: number, onlineSince: number, intervalMs: number): Promise<Array<{ channel_id: string; remote_id: string }>> {
    const pairs = `
      SELECT scr.channel_id, scr.remote_id FROM shared_channel_remotes scr
        JOIN shared_channels sc ON sc.channel_id = scr.channel_id AND sc.home
        JOIN remote_clusters rc ON rc.remote_id = scr.remote_id AND rc.delete_at = 0 AND rc.last_ping_at > $2
        LEFT JOIN sync_peers sp ON sp.remote_id = scr.remote_id
       WHERE scr.delete_at = 0 AND scr.is_invite_confirmed AND COALESCE(sp.kind, 'unknown') <> 'mattermost'`;
    // The pair's slot: a fixed offset within every period, from a hash of the pair.
    const slot = `($1::bigint / $3::bigint) * $3::bigint + (((hashtextextended(x.channel_id || x.remote_id, 0) % $3::bigint) + $3::bigint) % $3::bigint)`;
    await this.db.query(
      `INSERT INTO shared_channel_consistency (channel_id, remote_id, next_check_at, update_at)
       SELECT x.channel_id, x.remote_id, ${slot} + CASE WHEN ${slot} <= $1::bigint THEN $3::bigint ELSE 0 END, $1
         FROM (${pairs}) x
       ON CONFLICT (channel_id, remote_id) DO NOTHING`,
      [now, onlineSince, intervalMs],
    );
    // A SELECT around the UPDATE: TypeORM returns [rows, count] for a bare UPDATE.
    return this.db.query(
      `WITH due AS (
         UPDATE shared_channel_consistency c SET next_check_at = $1::bigint + $3::bigint, update_at = $1
           FROM (${pairs}) x
          WHERE c.channel_id = x.channel_id AND c.remote_id = x.remote_id AND c.next_check_at <= $1
         RETURNING c.channel_id, c.remote_id
       )
       SELECT channel_id, remote_id FROM due`,
      [now, onlineSince, intervalMs],
    );
  }
}
