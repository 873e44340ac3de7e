import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { newId } from '../../common/ids.js';
import { GlobalUserSyncCursorEntity } from './global-user-sync-cursor.entity.js';
import { DEFAULT_BACKOFF_MS } from '../../queue/queue.constants.js';
import { RETRY_BACKOFF_CAP_MS } from './sync.constants.js';
import type { PeerKind } from './sync-peer.entity.js';
import { type RetryKind, SyncRetryEntity } from './sync-retry.entity.js';

/** An item's retry row as a refusal or a wait left it. */
export interface RetryState {
  kind: RetryKind;
  item_key: string;
  post_id: string;
  attempts: number;
  parked: boolean;
  next_attempt_at: number;
  waiting_for: string;
}

export interface ChannelRemotePair {
  channel_id: string;
  remote_id: string;
}

@Injectable()
export class SyncRepository {
  constructor(
    private readonly db: DataSource,
    @InjectRepository(SyncRetryEntity) private readonly retries: Repository<SyncRetryEntity>,
    @InjectRepository(GlobalUserSyncCursorEntity) private readonly userCursors: Repository<GlobalUserSyncCursorEntity>,
  ) {}

  /**
   * Every active (channel, remote) pair with an online remote that has something unsent: a post, reaction or
   * acknowledgement past its cursor, a membership change (when `members`), a retried item that is due, or (on the
   * home) channel details changed since the remote's details cursor. The sweep's single query.
   */
  async findBehind(onlineSince: number, now: number, members = false): Promise<ChannelRemotePair[]> {
    return this.db.query(
      `SELECT scr.channel_id, scr.remote_id
         FROM shared_channel_remotes scr
         JOIN remote_clusters rc ON rc.remote_id = scr.remote_id AND rc.delete_at = 0 AND rc.last_ping_at > $1
        WHERE scr.delete_at = 0 AND scr.is_invite_confirmed
          AND (EXISTS (SELECT 1 FROM posts p WHERE p.channel_id = scr.channel_id AND (p.seq, p.id) > (scr.last_post_seq, scr.last_post_seq_id))
            OR EXISTS (SELECT 1 FROM reactions r WHERE r.channel_id = scr.channel_id AND r.seq > scr.last_reaction_seq)
            OR EXISTS (SELECT 1 FROM post_acknowledgements a WHERE a.channel_id = scr.channel_id AND a.seq > scr.last_ack_seq)
            OR EXISTS (SELECT 1 FROM sync_item_retries t WHERE t.remote_id = scr.remote_id AND t.channel_id = scr.channel_id
                         AND NOT t.parked AND t.waiting_for = '' AND t.next_attempt_at <= $2)
            OR ($3 AND EXISTS (SELECT 1 FROM change_events e WHERE e.channel_id = scr.channel_id AND e.order_seq > scr.last_member_event_seq
                                 AND e.kind IN ('member_added', 'member_removed')))
            OR EXISTS (SELECT 1 FROM shared_channels sc JOIN channels c ON c.id = sc.channel_id
                        WHERE sc.channel_id = scr.channel_id AND sc.home AND c.update_at > scr.last_details_update_at))`,
      [onlineSince, now, members],
    );
  }

  /** Shared (channel, remote) pairs of the channels a user is a member of: where that user's changes must go. */
  findPairsForUser(userId: string): Promise<ChannelRemotePair[]> {
    return this.db.query(
      `SELECT scr.channel_id, scr.remote_id FROM channel_members m
         JOIN shared_channel_remotes scr ON scr.channel_id = m.channel_id AND scr.delete_at = 0 AND scr.is_invite_confirmed
        WHERE m.user_id = $1`,
      [userId],
    );
  }

  /**
   * Local users changed after the cursor, in commit order (users.sync_seq, stamped under a lock held until
   * commit): the next batch of the global user sync. A user whose change commits late gets a later sync_seq, so
   * no batch can have passed it.
   */
  async localUsersAfter(afterSeq: number, limit: number): Promise<Array<{ id: string; update_at: number; sync_seq: number }>> {
    const rows: Array<{ id: string; update_at: string; sync_seq: string }> = await this.db.query(
      'SELECT id, update_at, sync_seq FROM users WHERE remote_id IS NULL AND sync_seq > $1 ORDER BY sync_seq LIMIT $2',
      [afterSeq, limit],
    );
    return rows.map((r) => ({ id: r.id, update_at: Number(r.update_at), sync_seq: Number(r.sync_seq) }));
  }

  findUserSyncCursor(remoteId: string): Promise<GlobalUserSyncCursorEntity | null> {
    return this.userCursors.findOneBy({ remote_id: remoteId });
  }

  async saveUserSyncCursor(remoteId: string, seq: number, updateAt: number, userId: string, now: number): Promise<void> {
    await this.userCursors.upsert({ remote_id: remoteId, cursor_seq: seq, cursor_update_at: updateAt, cursor_user_id: userId, update_at: now }, ['remote_id']);
  }

  /** Items of one kind whose retry is due: not parked, not waiting for a post, backoff elapsed. Oldest due first. */
  dueRetries(channelId: string, remoteId: string, kind: RetryKind, now: number, limit: number): Promise<SyncRetryEntity[]> {
    return this.retries
      .createQueryBuilder('t')
      .where('t.remote_id = :remoteId AND t.channel_id = :channelId AND NOT t.parked AND t.next_attempt_at <= :now', { channelId, remoteId, now })
      .andWhere("t.kind = :kind AND t.waiting_for = ''", { kind })
      .orderBy('t.next_attempt_at', 'ASC')
      .limit(limit)
      .getMany();
  }

  /** Those of `keys` that have a retry row (waiting, backing off or parked): items the remote does not hold yet. */
  async heldKeys(channelId: string, remoteId: string, kind: RetryKind, keys: string[], parkedOnly = false): Promise<Set<string>> {
    if (!keys.length) return new Set();
    const rows: Array<{ item_key: string }> = await this.db.query(
      `SELECT item_key FROM sync_item_retries
        WHERE remote_id = $1 AND channel_id = $2 AND kind = $3 AND item_key = ANY($4) AND (parked OR NOT $5)`,
      [remoteId, channelId, kind, keys, parkedOnly],
    );
    return new Set(rows.map((r) => r.item_key));
  }

  /**
   * Records items the remote did not take, in one statement. `attempt` counts a refusal (backoff grows; parked at
   * `maxAttempts`); without it the item only waits (for `waiting_for`, or for its backoff). `park` parks at once.
   */
  async recordRetries(
    items: Array<{ kind: RetryKind; item_key: string; post_id: string; waiting_for?: string }>,
    where: { channelId: string; remoteId: string },
    opts: { error: string; now: number; attempt: boolean; park?: boolean; maxAttempts: number },
  ): Promise<RetryState[]> {
    if (!items.length) return [];
    const unique = [...new Map(items.map((i) => [`${i.kind}:${i.item_key}`, i])).values()];
    const rows: Array<Record<string, unknown>> = await this.db.query(
      `INSERT INTO sync_item_retries
              (id, kind, item_key, post_id, channel_id, remote_id, attempts, next_attempt_at, last_error, parked, waiting_for, create_at, update_at)
       SELECT x.id, x.kind, x.item_key, x.post_id, $6, $7, $8::int, $9::bigint + CASE WHEN $8::int > 0 THEN $12::bigint ELSE 0 END,
              $10, $11 OR $8::int >= $13, x.waiting_for, $9, $9
         FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[], $5::varchar[]) AS x(id, kind, item_key, post_id, waiting_for)
       ON CONFLICT (remote_id, channel_id, kind, item_key) DO UPDATE SET
         attempts = sync_item_retries.attempts + $8::int,
         next_attempt_at = $9::bigint + CASE WHEN $8::int > 0
           THEN LEAST($14::bigint, $12::bigint * power(2, GREATEST(0, sync_item_retries.attempts + $8::int - 1))::bigint) ELSE 0 END,
         last_error = EXCLUDED.last_error,
         parked = $11 OR sync_item_retries.attempts + $8::int >= $13,
         waiting_for = EXCLUDED.waiting_for,
         update_at = $9
       RETURNING kind, item_key, post_id, attempts, parked, next_attempt_at, waiting_for`,
      [
        unique.map(() => newId()),
        unique.map((i) => i.kind),
        unique.map((i) => i.item_key),
        unique.map((i) => i.post_id),
        unique.map((i) => i.waiting_for ?? ''),
        where.channelId,
        where.remoteId,
        opts.attempt ? 1 : 0,
        opts.now,
        opts.error.slice(0, 1024),
        opts.park === true,
        DEFAULT_BACKOFF_MS,
        opts.maxAttempts,
        RETRY_BACKOFF_CAP_MS,
      ],
    );
    return rows.map((r) => ({
      kind: r.kind as RetryKind,
      item_key: r.item_key as string,
      post_id: r.post_id as string,
      attempts: Number(r.attempts),
      parked: r.parked === true,
      next_attempt_at: Number(r.next_attempt_at),
      waiting_for: r.waiting_for as string,
    }));
  }

  /**
   * The remote took these items: their retry rows go, and (for posts) whatever waited for them is due now (their
   * number is returned). One statement, cheap when nothing is held (an index probe per key).
   */
  async recordAccepted(channelId: string, remoteId: string, kind: RetryKind, keys: string[], now: number): Promise<number> {
    if (!keys.length) return 0;
    // A SELECT around both writes: TypeORM returns [rows, count] for a bare UPDATE.
    const rows: Array<{ n: number }> = await this.db.query(
      `WITH gone AS (
         DELETE FROM sync_item_retries WHERE remote_id = $1 AND channel_id = $2 AND kind = $3 AND item_key = ANY($4)
       ), released AS (
         UPDATE sync_item_retries SET waiting_for = '', next_attempt_at = $5, update_at = $5
          WHERE $3 = 'post' AND remote_id = $1 AND waiting_for = ANY($4) AND waiting_for <> ''
            AND NOT (channel_id = $2 AND kind = $3 AND item_key = ANY($4))
          RETURNING 1
       )
       SELECT count(*)::int AS n FROM released`,
      [remoteId, channelId, kind, keys, now],
    );
    return rows[0]?.n ?? 0;
  }

  /**
   * What waits for these posts is due now, unless the post itself is held for the remote (refused, parked, waiting):
   * then it keeps waiting for the post's acceptance. The number released.
   */
  async releaseWaitingFor(channelId: string, remoteId: string, postIds: string[], now: number): Promise<number> {
    if (!postIds.length) return 0;
    const rows: Array<{ n: number }> = await this.db.query(
      `WITH released AS (
         UPDATE sync_item_retries t SET waiting_for = '', next_attempt_at = $4, update_at = $4
          WHERE t.remote_id = $1 AND t.waiting_for = ANY($3) AND t.waiting_for <> '' AND t.channel_id = $2
            AND NOT EXISTS (SELECT 1 FROM sync_item_retries h
                             WHERE h.remote_id = $1 AND h.channel_id = $2 AND h.kind = 'post' AND h.item_key = t.waiting_for)
          RETURNING 1
       )
       SELECT count(*)::int AS n FROM released`,
      [remoteId, channelId, postIds, now],
    );
    return rows[0]?.n ?? 0;
  }

  /**
   * Posts the remote needs before an item it refused (a reaction, acknowledgement or reply whose post it lacks):
   * due now unless already held, and counted as no attempt.
   */
  async requestPosts(channelId: string, remoteId: string, postIds: string[], now: number): Promise<void> {
    if (!postIds.length) return;
    await this.db.query(
      `INSERT INTO sync_item_retries (id, kind, item_key, post_id, channel_id, remote_id, attempts, next_attempt_at, last_error, parked, waiting_for, create_at, update_at)
       SELECT x.id, 'post', x.post_id, x.post_id, $3, $4, 0, $5, 'the remote lacks it: an item that depends on it was refused', false, '', $5, $5
         FROM unnest($1::varchar[], $2::varchar[]) AS x(id, post_id)
       ON CONFLICT (remote_id, channel_id, kind, item_key) DO NOTHING`,
      [postIds.map(() => newId()), postIds, channelId, remoteId, now],
    );
  }

  findRetry(id: string): Promise<SyncRetryEntity | null> {
    return this.retries.findOneBy({ id });
  }

  listRetries(opts: { remoteId?: string; parked?: boolean; kind?: string; offset: number; limit: number }): Promise<SyncRetryEntity[]> {
    const q = this.retries.createQueryBuilder('t').orderBy('t.create_at', 'ASC').addOrderBy('t.id', 'ASC').skip(opts.offset).take(opts.limit);
    if (opts.remoteId) q.andWhere('t.remote_id = :r', { r: opts.remoteId });
    if (opts.parked !== undefined) q.andWhere('t.parked = :p', { p: opts.parked });
    if (opts.kind) q.andWhere('t.kind = :k', { k: opts.kind });
    return q.getMany();
  }

  async unpark(id: string, now: number): Promise<void> {
    await this.retries.update({ id }, { parked: false, attempts: 0, next_attempt_at: now, update_at: now });
  }

  async parkedCounts(): Promise<Array<{ remote_id: string; kind: RetryKind; count: number }>> {
    const rows: Array<{ remote_id: string; kind: RetryKind; count: string }> = await this.db.query(
      'SELECT remote_id, kind, COUNT(*) AS count FROM sync_item_retries WHERE parked GROUP BY remote_id, kind',
    );
    return rows.map((r) => ({ remote_id: r.remote_id, kind: r.kind, count: Number(r.count) }));
  }

  /** What the sync engine knows of a remote's kind of server ('unknown' until asked). */
  async peerKind(remoteId: string): Promise<PeerKind> {
    const rows: Array<{ kind: PeerKind }> = await this.db.query('SELECT kind FROM sync_peers WHERE remote_id = $1', [remoteId]);
    return rows[0]?.kind ?? 'unknown';
  }

  async savePeerKind(remoteId: string, kind: PeerKind, version: number, now: number): Promise<void> {
    await this.db.query(
      `INSERT INTO sync_peers (remote_id, kind, version, detected_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (remote_id) DO UPDATE SET kind = EXCLUDED.kind, version = EXCLUDED.version, detected_at = EXCLUDED.detected_at`,
      [remoteId, kind, version, now],
    );
  }
}
