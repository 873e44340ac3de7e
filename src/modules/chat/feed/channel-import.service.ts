import { Injectable } from '@nestjs/common';
import { TransactionRunner } from '../../../database/transaction-runner.js';
import { ChangeKind, type ChangeEvent, type NewChangeEvent } from '../events/change-event.types.js';
import { ChangeEventsService } from '../events/change-events.service.js';
import type { PostAcknowledgementEntity } from '../posts/post-acknowledgement.entity.js';
import type { PostEntity } from '../posts/post.entity.js';
import type { ReactionEntity } from '../posts/reaction.entity.js';
import { StatusEntity, type StatusValue } from '../users/status.entity.js';
import { StatusRepository } from '../users/status.repository.js';
import { ChannelFeedRepository } from './channel-feed.repository.js';

export interface ItemError {
  id: string;
  reason: string;
}

export interface ImportResult {
  /** Ids written (new or newer); items that were already up to date are neither written nor errors. */
  written: string[];
  errors: ItemError[];
}

/** Keeps the last occurrence of each key: one statement may not write a row twice. */
function lastByKey<T>(items: T[], key: (t: T) => string): T[] {
  const map = new Map<string, T>();
  for (const item of items) {
    const k = key(item);
    map.delete(k);
    map.set(k, item);
  }
  return [...map.values()];
}

/**
 * Writes content that was created elsewhere (another server) into a channel, as state and in bulk: one
 * transaction and a handful of statements per batch. Every write is journalled with its origin, so changes
 * flow on to other servers and never back to their origin. The origin may only write as users it owns.
 */
@Injectable()
export class ChannelImportService {
  constructor(
    private readonly feed: ChannelFeedRepository,
    private readonly statuses: StatusRepository,
    private readonly events: ChangeEventsService,
    private readonly tx: TransactionRunner,
  ) {}

  /**
   * Posts as state, last writer wins on (update_at, delete_at, message), and on a tie the origin's props (Mattermost 11
   * re-sends a post whose property values changed with its update_at unchanged); `force` (a repair from the post's owner)
   * writes any post that differs. A reply is taken when its root is stored here or travels in the same batch (in any
   * order). A root deleted here takes its live replies with it, as the origin's delete did there, with the root's
   * delete time so every server ends with the same rows.
   */
  async importPosts(channelId: string, incoming: PostEntity[], originRemoteId: string, opts: { force?: boolean } = {}): Promise<ImportResult> {
    const errors: ItemError[] = [];
    const posts = lastByKey(incoming, (p) => p.id);
    const [authorRows, existingRows] = await Promise.all([
      this.feed.usersByIds([...new Set(posts.map((p) => p.user_id))]),
      this.feed.postsByIds(posts.map((p) => p.id)),
    ]);
    const authors = new Map(authorRows.map((u) => [u.id, u]));
    const existing = new Map(existingRows.map((p) => [p.id, p]));
    const inBatch = new Set(posts.map((p) => p.id));
    const rootIds = [...new Set(posts.map((p) => p.root_id).filter((r) => r && !inBatch.has(r) && !existing.has(r)))];
    const roots = new Map((await this.feed.postsByIds(rootIds)).map((p) => [p.id, p]));
    // First everything but the root, then the root: a root later in the batch counts once it passed its own checks.
    const passed = new Map<string, PostEntity>();
    for (const post of posts) {
      const author = authors.get(post.user_id);
      const stored = existing.get(post.id);
      let reason = '';
      if (post.channel_id !== channelId) reason = 'post belongs to another channel';
      else if (!author) reason = `author ${post.user_id} is unknown`;
      else if (author.remote_id !== originRemoteId) reason = `author ${post.user_id} is not owned by the sender`;
      else if (stored && stored.channel_id !== channelId) reason = 'a post with this id exists in another channel';
      else if (stored && stored.remote_id !== originRemoteId) reason = 'the post is not owned by the sender';
      if (reason) errors.push({ id: post.id, reason });
      else passed.set(post.id, post);
    }
    const accepted: PostEntity[] = [];
    for (const post of passed.values()) {
      const root = post.root_id ? (passed.get(post.root_id) ?? existing.get(post.root_id) ?? roots.get(post.root_id)) : undefined;
      if (post.root_id && !root) errors.push({ id: post.id, reason: `root ${post.root_id} is unknown` });
      else if (root && root.channel_id !== channelId) errors.push({ id: post.id, reason: 'root is in another channel' });
      else accepted.push({ ...post, remote_id: originRemoteId });
    }
    if (!accepted.length) return { written: [], errors };

    const now = Date.now();
    const { written, published } = await this.tx.run(async (tx) => {
      const rows = await this.feed.upsertPosts(tx, accepted, opts.force === true);
      const byId = new Map(accepted.map((p) => [p.id, p]));
      const events: NewChangeEvent[] = [];
      for (const row of rows) {
        const post = byId.get(row.id)!;
        const before = existing.get(row.id);
        if (post.file_ids?.length) await this.feed.attachFiles(tx, post, now);
        const deleted = post.delete_at && !before?.delete_at;
        const kind = deleted ? ChangeKind.PostDeleted : row.inserted ? ChangeKind.PostCreated : ChangeKind.PostEdited;
        events.push({ kind, channel_id: channelId, origin_remote_id: originRemoteId, post_id: post.id, root_id: post.root_id });
        if (deleted && !post.root_id) {
          for (const reply of await this.feed.deleteReplies(tx, channelId, post.id, post.delete_at)) {
            // Our own replies go back to the root's origin too; a relayed one only onwards.
            events.push({ kind: ChangeKind.PostDeleted, channel_id: channelId, origin_remote_id: reply.remote_id, post_id: reply.id, root_id: post.id });
          }
        }
      }
      // The channel's post counters move in the database (trigger posts_note_inserted), from inserted rows only.
      const published = await this.events.recordMany(tx, events, now);
      return { written: rows.map((r) => r.id), published };
    });
    this.events.publish(published);
    return { written, errors };
  }

  /**
   * Removes posts of the channel that `ownerRemoteId` owns here but does not have (the consistency check found them
   * on this side only): the rows go, with their reactions and acknowledgements. Returns the ids removed.
   */
  async removePosts(channelId: string, postIds: string[], ownerRemoteId: string): Promise<string[]> {
    if (!postIds.length) return [];
    return this.tx.run((tx) => this.feed.deletePosts(tx, channelId, postIds, ownerRemoteId));
  }

  /** Reactions as state, last writer wins on (update_at, delete_at); `force` (a repair from the owner) writes any that differs. */
  async importReactions(channelId: string, incoming: ReactionEntity[], originRemoteId: string, opts: { force?: boolean } = {}): Promise<ImportResult> {
    const errors: ItemError[] = [];
    const reactions = lastByKey(incoming, (r) => `${r.user_id}:${r.post_id}:${r.emoji_name}`);
    const posts = new Map((await this.feed.postsByIds([...new Set(reactions.map((r) => r.post_id))])).map((p) => [p.id, p]));
    const users = new Map((await this.feed.usersByIds([...new Set(reactions.map((r) => r.user_id))])).map((u) => [u.id, u]));
    const accepted: ReactionEntity[] = [];
    for (const r of reactions) {
      const post = posts.get(r.post_id);
      const user = users.get(r.user_id);
      let reason = '';
      if (!post || post.channel_id !== channelId) reason = `post ${r.post_id} is not in this channel`;
      else if (!user || user.remote_id !== originRemoteId) reason = `user ${r.user_id} is not owned by the sender`;
      else if (!/^[a-zA-Z0-9_+-]{1,64}$/.test(r.emoji_name)) reason = 'invalid emoji name';
      if (reason) errors.push({ id: r.post_id, reason });
      else accepted.push({ ...r, channel_id: channelId, remote_id: originRemoteId });
    }
    if (!accepted.length) return { written: [], errors };
    const now = Date.now();
    const { written, published } = await this.tx.run(async (tx) => {
      const rows = await this.feed.upsertReactions(tx, accepted, opts.force === true);
      const published = await this.events.recordMany(
        tx,
        rows.map((row) => ({
          kind: row.delete_at ? ChangeKind.ReactionRemoved : ChangeKind.ReactionAdded,
          channel_id: channelId,
          origin_remote_id: originRemoteId,
          post_id: row.post_id,
          user_id: row.user_id,
          emoji_name: row.emoji_name,
        })),
        now,
      );
      return { written: rows.map((r) => r.post_id), published };
    });
    this.events.publish(published);
    return { written, errors };
  }

  /** Acknowledgements as state, in arrival order (any that differs is written, so `force` changes nothing here). */
  async importAcks(
    channelId: string,
    incoming: Array<Omit<PostAcknowledgementEntity, 'update_at' | 'seq'>>,
    originRemoteId: string,
    _opts: { force?: boolean } = {},
  ): Promise<ImportResult> {
    const errors: ItemError[] = [];
    const acks = lastByKey(incoming, (a) => `${a.user_id}:${a.post_id}`);
    const posts = new Map((await this.feed.postsByIds([...new Set(acks.map((a) => a.post_id))])).map((p) => [p.id, p]));
    const users = new Map((await this.feed.usersByIds([...new Set(acks.map((a) => a.user_id))])).map((u) => [u.id, u]));
    const now = Date.now();
    const accepted: PostAcknowledgementEntity[] = [];
    for (const a of acks) {
      const post = posts.get(a.post_id);
      const user = users.get(a.user_id);
      if (!post || post.channel_id !== channelId) errors.push({ id: a.post_id, reason: `post ${a.post_id} is not in this channel` });
      else if (!user || user.remote_id !== originRemoteId) errors.push({ id: a.post_id, reason: `user ${a.user_id} is not owned by the sender` });
      else accepted.push({ ...a, acknowledged_at: Math.max(0, a.acknowledged_at), update_at: now, channel_id: channelId, remote_id: originRemoteId, seq: 0 });
    }
    if (!accepted.length) return { written: [], errors };
    const { written, published } = await this.tx.run(async (tx) => {
      const rows = await this.feed.upsertAcks(tx, accepted);
      const published = await this.events.recordMany(
        tx,
        rows.map((row) => ({
          kind: row.acknowledged_at ? ChangeKind.AckAdded : ChangeKind.AckRemoved,
          channel_id: channelId,
          origin_remote_id: originRemoteId,
          post_id: row.post_id,
          user_id: row.user_id,
        })),
        now,
      );
      return { written: rows.map((r) => r.post_id), published };
    });
    this.events.publish(published);
    return { written, errors };
  }

  /** Statuses of users the origin owns; others are errors (user ids). */
  async importStatuses(
    incoming: Array<{ user_id: string; status: StatusValue; manual: boolean; last_activity_at: number; dnd_end_time: number }>,
    originRemoteId: string,
  ): Promise<ImportResult> {
    const statuses = lastByKey(incoming, (s) => s.user_id);
    const users = new Map((await this.feed.usersByIds(statuses.map((s) => s.user_id))).map((u) => [u.id, u]));
    const errors: ItemError[] = [];
    const written: string[] = [];
    const published: ChangeEvent[] = [];
    await this.tx.run(async (tx) => {
      for (const s of statuses) {
        const user = users.get(s.user_id);
        if (!user || user.remote_id !== originRemoteId) {
          errors.push({ id: s.user_id, reason: 'user is not owned by the sender' });
          continue;
        }
        const current = await this.statuses.findForUpdate(tx, s.user_id);
        if (current && current.status === s.status && current.dnd_end_time === s.dnd_end_time && current.manual === s.manual) continue;
        const now = Math.max(Date.now(), (current?.update_at ?? 0) + 1);
        await this.statuses.upsert(
          tx,
          Object.assign(new StatusEntity(), {
            user_id: s.user_id,
            status: s.status,
            manual: s.manual,
            last_activity_at: s.last_activity_at,
            dnd_end_time: s.dnd_end_time,
            prev_status: current?.status ?? '',
            update_at: now,
          }),
        );
        written.push(s.user_id);
        published.push(await this.events.record(tx, { kind: ChangeKind.StatusChanged, channel_id: null, origin_remote_id: originRemoteId, user_id: s.user_id }, now));
      }
    });
    this.events.publish(published);
    return { written, errors };
  }
}
