import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { newId } from '../../common/ids.js';
import { GlobalUserSyncCursorEntity } from './global-user-sync-cursor.entity.js';
import { PostRetryEntity } from './post-retry.entity.js';

export interface ChannelRemotePair {
  channel_id: string;
  remote_id: string;
}

@Injectable()
export class SyncRepository {
  constructor(
    private readonly db: DataSource,
    @InjectRepository(PostRetryEntity) private readonly retries: Repository<PostRetryEntity>,
    @InjectRepository(GlobalUserSyncCursorEntity) private readonly userCursors: Repository<GlobalUserSyncCursorEntity>,
  ) {}

  /**
   * Every active (channel, remote) pair with an online remote that has something unsent: a post, reaction or
   * acknowledgement past its cursor, a membership change (when `members`), or a post retry that is due. The
   * sweep's single query.
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
            OR EXISTS (SELECT 1 FROM sync_post_retries t WHERE t.channel_id = scr.channel_id AND t.remote_id = scr.remote_id
                         AND NOT t.parked AND t.next_attempt_at <= $2)
            OR ($3 AND EXISTS (SELECT 1 FROM change_events e WHERE e.channel_id = scr.channel_id AND e.order_seq > scr.last_member_event_seq
                                 AND e.kind IN ('member_added', 'member_removed'))))`,
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

  dueRetries(channelId: string, remoteId: string, now: number, limit: number): Promise<PostRetryEntity[]> {
    return this.retries
      .createQueryBuilder('t')
      .where('t.channel_id = :channelId AND t.remote_id = :remoteId AND NOT t.parked AND t.next_attempt_at <= :now', { channelId, remoteId, now })
      .orderBy('t.next_attempt_at', 'ASC')
      .limit(limit)
      .getMany();
  }

  findRetry(id: string): Promise<PostRetryEntity | null> {
    return this.retries.findOneBy({ id });
  }

  listRetries(opts: { remoteId?: string; parked?: boolean; offset: number; limit: number }): Promise<PostRetryEntity[]> {
    const q = this.retries.createQueryBuilder('t').orderBy('t.create_at', 'ASC').skip(opts.offset).take(opts.limit);
    if (opts.remoteId) q.andWhere('t.remote_id = :r', { r: opts.remoteId });
    if (opts.parked !== undefined) q.andWhere('t.parked = :p', { p: opts.parked });
    return q.getMany();
  }

  /** Records a rejection: first failure inserts, later ones count up; parks at maxAttempts. */
  async recordRejection(
    post: { id: string; channel_id: string },
    remoteId: string,
    error: string,
    now: number,
    backoff: (attempts: number) => number,
    maxAttempts: number,
  ): Promise<PostRetryEntity> {
    const existing = await this.retries.findOneBy({ post_id: post.id, remote_id: remoteId });
    const attempts = (existing?.attempts ?? 0) + 1;
    const row = Object.assign(new PostRetryEntity(), {
      id: existing?.id ?? newId(),
      post_id: post.id,
      channel_id: post.channel_id,
      remote_id: remoteId,
      attempts,
      next_attempt_at: now + backoff(attempts),
      last_error: error.slice(0, 1024),
      parked: attempts >= maxAttempts,
      create_at: existing?.create_at ?? now,
      update_at: now,
    });
    await this.retries.save(row);
    return row;
  }

  async deleteRetry(postId: string, remoteId: string): Promise<void> {
    await this.retries.delete({ post_id: postId, remote_id: remoteId });
  }

  async unpark(id: string, now: number): Promise<void> {
    await this.retries.update({ id }, { parked: false, attempts: 0, next_attempt_at: now, update_at: now });
  }

  async parkedCounts(): Promise<Array<{ remote_id: string; count: number }>> {
    const rows: Array<{ remote_id: string; count: string }> = await this.db.query(
      'SELECT remote_id, COUNT(*) AS count FROM sync_post_retries WHERE parked GROUP BY remote_id',
    );
    return rows.map((r) => ({ remote_id: r.remote_id, count: Number(r.count) }));
  }
}
