import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import type { Tx } from '../../../database/transaction-runner.js';
import type { JournalRow } from '../events/change-event.entity.js';
import { PostAcknowledgementEntity } from './post-acknowledgement.entity.js';
import { PostEntity, POST_WRITE_COLUMNS, pushPostParams } from './post.entity.js';
import { ReactionEntity } from './reaction.entity.js';

/** Most posts of one channel written by one group-commit statement. */
const INSERT_BATCH_MAX = 64;

interface PendingInsert {
  post: PostEntity;
  journal: JournalRow;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface ThreadStats {
  root_id: string;
  reply_count: number;
  last_reply_at: number;
}

@Injectable()
export class PostRepository {
  constructor(
    @InjectRepository(PostEntity) private readonly posts: Repository<PostEntity>,
    @InjectRepository(ReactionEntity) private readonly reactions: Repository<ReactionEntity>,
    @InjectRepository(PostAcknowledgementEntity) private readonly acks: Repository<PostAcknowledgementEntity>,
  ) {}

  findById(id: string): Promise<PostEntity | null> {
    return this.posts.findOneBy({ id });
  }

  findByIds(ids: string[]): Promise<PostEntity[]> {
    return ids.length ? this.posts.findBy({ id: In(ids) }) : Promise.resolve([]);
  }

  findByIdForUpdate(tx: Tx, id: string): Promise<PostEntity | null> {
    return tx.getRepository(PostEntity).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  async insert(tx: Tx, post: PostEntity): Promise<void> {
    // A copy: insert() writes database-formatted values back into the object it is given.
    await tx.getRepository(PostEntity).insert({ ...post } as never);
  }

  /**
   * A new post and its journal row in one autocommit statement: one round trip instead of five (BEGIN, two
   * INSERTs, the channel counters - now moved by the posts_note_inserted trigger - and COMMIT). It is as atomic
   * as the transaction was, and the channel-sequence trigger still stamps the post under the channel row's lock.
   *
   * Group commit: posts of one channel written while that channel's previous statement is running go together in
   * the next one (up to INSERT_BATCH_MAX), so a burst into a channel costs one statement, one commit and one wait
   * for the channel row's lock per batch instead of per post; a post written while nothing is running goes at once.
   * If a batch fails, its posts are written again one by one, so each caller gets its own post's outcome.
   */
  insertWithJournal(post: PostEntity, journal: JournalRow): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let q = this.pendingInserts.get(post.channel_id);
      if (!q) {
        q = [];
        this.pendingInserts.set(post.channel_id, q);
        q.push({ post, journal, resolve, reject });
        void this.flushInserts(post.channel_id, q);
        return;
      }
      q.push({ post, journal, resolve, reject });
    });
  }

  private readonly pendingInserts = new Map<string, PendingInsert[]>();

  /** Writes the channel's waiting posts batch after batch until none is left, then lets the next post start anew. */
  private async flushInserts(channelId: string, q: PendingInsert[]): Promise<void> {
    while (q.length) {
      const batch = q.splice(0, INSERT_BATCH_MAX);
      try {
        await this.insertBatch(batch);
        for (const b of batch) b.resolve();
      } catch (err) {
        if (batch.length === 1) batch[0].reject(err);
        else {
          for (const b of batch) {
            await this.insertBatch([b]).then(b.resolve, b.reject);
          }
        }
      }
    }
    this.pendingInserts.delete(channelId);
  }

  private async insertBatch(batch: PendingInsert[]): Promise<void> {
    const params: unknown[] = [];
    const rows = batch.map((b) => `(${pushPostParams(params, b.post).join(', ')})`);
    const journal = batch.map((b, i) => {
      const j = b.journal;
      const n = params.push(b.post.id, j.kind, j.channel_id, j.origin_remote_id, JSON.stringify(j.data), j.create_at);
      return `($${n - 5}::varchar, $${n - 4}::varchar, $${n - 3}::varchar, $${n - 2}::varchar, $${n - 1}::jsonb, $${n}::bigint, ${i})`;
    });
    await this.posts.query(
      `WITH p AS (INSERT INTO posts (${POST_WRITE_COLUMNS.join(', ')}) VALUES ${rows.join(', ')} RETURNING id)
       INSERT INTO change_events (kind, channel_id, origin_remote_id, data, create_at)
       SELECT v.kind, v.channel_id, v.origin_remote_id, v.data, v.create_at
         FROM (VALUES ${journal.join(', ')}) AS v(post_id, kind, channel_id, origin_remote_id, data, create_at, ord)
         JOIN p ON p.id = v.post_id ORDER BY v.ord`,
      params,
    );
  }

  async update(tx: Tx, id: string, fields: Partial<PostEntity>): Promise<void> {
    await tx.getRepository(PostEntity).update({ id }, fields as never);
  }

  /**
   * Soft-deletes a post and, when it is a root, its replies (as Mattermost does). A reply written elsewhere keeps its
   * update_at: its own server deletes it too when the root's deletion reaches it, and that version (or a later edit
   * made there before it knew) must still win here under last-writer-wins.
   */
  async softDeleteWithReplies(tx: Tx, id: string, now: number): Promise<number> {
    const r = await tx
      .createQueryBuilder()
      .update(PostEntity)
      .set({ delete_at: now, update_at: () => `CASE WHEN remote_id IS NULL THEN ${Number(now)} ELSE update_at END` })
      .where('(id = :id OR root_id = :id) AND delete_at = 0', { id })
      .execute();
    return r.affected ?? 0;
  }

  /** Newest first, non-deleted, offset paging; `beforeCreateAt`/`afterCreateAt` bound the window. */
  listChannelPage(
    channelId: string,
    opts: { offset: number; limit: number; before?: { create_at: number; id: string }; after?: { create_at: number; id: string } },
  ): Promise<PostEntity[]> {
    const q = this.posts.createQueryBuilder('p').where('p.channel_id = :channelId AND p.delete_at = 0', { channelId });
    if (opts.before) q.andWhere('(p.create_at, p.id) < (:bc, :bi)', { bc: opts.before.create_at, bi: opts.before.id });
    if (opts.after) {
      // "after" pages read oldest-first from the anchor, then the caller reverses them.
      q.andWhere('(p.create_at, p.id) > (:ac, :ai)', { ac: opts.after.create_at, ai: opts.after.id })
        .orderBy('p.create_at', 'ASC')
        .addOrderBy('p.id', 'ASC');
    } else {
      q.orderBy('p.create_at', 'DESC').addOrderBy('p.id', 'DESC');
    }
    return q.skip(opts.offset).take(opts.limit).getMany();
  }

  /** Everything changed since a time, deleted posts included so clients can drop them (Mattermost's `since`). */
  listChannelSince(channelId: string, since: number, limit: number): Promise<PostEntity[]> {
    return this.posts
      .createQueryBuilder('p')
      .where('p.channel_id = :channelId AND p.update_at > :since', { channelId, since })
      .orderBy('p.create_at', 'DESC')
      .addOrderBy('p.id', 'DESC')
      .take(limit)
      .getMany();
  }

  /** The post just older / just newer than a position, for prev_post_id / next_post_id. */
  async neighbour(channelId: string, at: { create_at: number; id: string }, direction: 'older' | 'newer'): Promise<string> {
    const older = direction === 'older';
    const row = await this.posts
      .createQueryBuilder('p')
      .select('p.id', 'id')
      .where('p.channel_id = :channelId AND p.delete_at = 0', { channelId })
      .andWhere(older ? '(p.create_at, p.id) < (:c, :i)' : '(p.create_at, p.id) > (:c, :i)', { c: at.create_at, i: at.id })
      .orderBy('p.create_at', older ? 'DESC' : 'ASC')
      .addOrderBy('p.id', older ? 'DESC' : 'ASC')
      .limit(1)
      .getRawOne<{ id: string }>();
    return row?.id ?? '';
  }

  listThread(rootId: string): Promise<PostEntity[]> {
    return this.posts
      .createQueryBuilder('p')
      .where('(p.id = :rootId OR p.root_id = :rootId) AND p.delete_at = 0', { rootId })
      .orderBy('p.create_at', 'DESC')
      .addOrderBy('p.id', 'DESC')
      .getMany();
  }

  async threadStats(rootIds: string[]): Promise<ThreadStats[]> {
    if (!rootIds.length) return [];
    const rows = await this.posts
      .createQueryBuilder('p')
      .select('p.root_id', 'root_id')
      .addSelect('COUNT(*)', 'reply_count')
      .addSelect('MAX(p.create_at)', 'last_reply_at')
      .where('p.root_id IN (:...rootIds) AND p.delete_at = 0', { rootIds })
      .groupBy('p.root_id')
      .getRawMany<{ root_id: string; reply_count: string; last_reply_at: string }>();
    return rows.map((r) => ({ root_id: r.root_id, reply_count: Number(r.reply_count), last_reply_at: Number(r.last_reply_at) }));
  }

  activeReactionsFor(postIds: string[]): Promise<ReactionEntity[]> {
    if (!postIds.length) return Promise.resolve([]);
    return this.reactions.find({ where: { post_id: In(postIds), delete_at: 0 }, order: { create_at: 'ASC', user_id: 'ASC' } });
  }

  activeAcksFor(postIds: string[]): Promise<PostAcknowledgementEntity[]> {
    if (!postIds.length) return Promise.resolve([]);
    return this.acks
      .createQueryBuilder('a')
      .where('a.post_id IN (:...postIds) AND a.acknowledged_at > 0', { postIds })
      .orderBy('a.acknowledged_at', 'ASC')
      .getMany();
  }

  /** These reaction rows, removed ones included (read by post, then matched: a post has few reactions). */
  async findReactions(keys: Array<{ user_id: string; post_id: string; emoji_name: string }>): Promise<ReactionEntity[]> {
    if (!keys.length) return [];
    const wanted = new Set(keys.map((k) => `${k.user_id}:${k.post_id}:${k.emoji_name}`));
    const rows = await this.reactions.findBy({ post_id: In([...new Set(keys.map((k) => k.post_id))]) });
    return rows.filter((r) => wanted.has(`${r.user_id}:${r.post_id}:${r.emoji_name}`));
  }

  /** These acknowledgement rows, removed ones (acknowledged_at 0) included. */
  async findAcks(keys: Array<{ user_id: string; post_id: string }>): Promise<PostAcknowledgementEntity[]> {
    if (!keys.length) return [];
    const wanted = new Set(keys.map((k) => `${k.user_id}:${k.post_id}`));
    const rows = await this.acks.findBy({ post_id: In([...new Set(keys.map((k) => k.post_id))]) });
    return rows.filter((a) => wanted.has(`${a.user_id}:${a.post_id}`));
  }

  findReaction(userId: string, postId: string, emoji: string): Promise<ReactionEntity | null> {
    return this.reactions.findOneBy({ user_id: userId, post_id: postId, emoji_name: emoji });
  }

  /** Locks the reaction row (if any) so concurrent add/remove of the same reaction serialise. */
  findReactionForUpdate(tx: Tx, userId: string, postId: string, emoji: string): Promise<ReactionEntity | null> {
    return tx.getRepository(ReactionEntity).findOne({
      where: { user_id: userId, post_id: postId, emoji_name: emoji },
      lock: { mode: 'pessimistic_write' },
    });
  }

  async upsertReaction(tx: Tx, reaction: ReactionEntity): Promise<void> {
    await tx
      .createQueryBuilder()
      .insert()
      .updateEntity(false)
      .into(ReactionEntity)
      .values(reaction)
      .orUpdate(['create_at', 'update_at', 'delete_at', 'remote_id', 'channel_id'], ['user_id', 'post_id', 'emoji_name'])
      .execute();
  }

  findAckForUpdate(tx: Tx, userId: string, postId: string): Promise<PostAcknowledgementEntity | null> {
    return tx.getRepository(PostAcknowledgementEntity).findOne({ where: { user_id: userId, post_id: postId }, lock: { mode: 'pessimistic_write' } });
  }

  async upsertAck(tx: Tx, ack: PostAcknowledgementEntity): Promise<void> {
    await tx
      .createQueryBuilder()
      .insert()
      .updateEntity(false)
      .into(PostAcknowledgementEntity)
      .values(ack)
      .orUpdate(['acknowledged_at', 'update_at', 'remote_id', 'channel_id'], ['user_id', 'post_id'])
      .execute();
  }
}
