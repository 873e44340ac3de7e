import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../config/app-config.js';
import { UserDirectory, type UserRecord } from '../../auth/user-directory.service.js';
import { ChannelFeed, type PostRecord, type SeqCursor } from '../../chat/feed/channel-feed.service.js';
import { SharedChannelStore, type SharedChannelRecord, type SharedChannelRemoteRecord } from '../../shared-channel/shared-channel-store.service.js';
import type { WirePost } from '../../shared-channel/wire.types.js';
import { possibleMentions } from '../mentions.js';
import { permalinkPostIds, toSharedPermalinks } from '../permalinks.js';
import { isLocalOnlyPostType, SYNC_RETRIES_PER_PASS } from '../sync.constants.js';
import { SyncMetrics } from '../sync.metrics.js';
import type { PassContext, SyncStream } from '../sync-pass.js';
import { SyncRepository } from '../sync.repository.js';
import { type Delivery, SyncTransport } from '../sync-transport.service.js';
import { toWirePost } from '../sync-wire.js';
import { type HistoryScope, historyPosition } from '../backfill/history-coverage.js';

export interface PostsCollected {
  /** Posts after the cursor, as read: the cursor moves past all of them. */
  scanned: PostRecord[];
  /** Where the cursor goes once this pass is done. */
  cursor: SeqCursor;
  /** What goes out, each root before its replies. */
  posts: PostRecord[];
  /** Replies whose root the receiver does not have yet (refused, parked): held, not sent. */
  waiting: Array<{ post: PostRecord; root: string }>;
  /** Retry rows whose post no longer exists (or can no longer go to this remote): dropped. */
  gone: string[];
  mentions: { transforms: Record<string, string>; users: UserRecord[] };
  /** Users the posts refer to (authors, mentioned channel members). */
  userIds: string[];
  /** A batch was full: run again at once. */
  full: boolean;
}

export interface PostsOutcome {
  accepted: PostRecord[];
  refused: PostRecord[];
  tooLarge: PostRecord[];
  /** Replies refused because their root is not on the receiver either (it was refused or too large too). */
  waiting: Array<{ post: PostRecord; root: string }>;
}

const key = (seq: number, k: string): SeqCursor => ({ seq, key: k });

/** A post this remote should hold: not from it, and not one of this server's local notices. */
export function goesTo(post: Pick<PostRecord, 'remote_id' | 'type'>, remoteId: string): boolean {
  return post.remote_id !== remoteId && !isLocalOnlyPostType(post.type);
}

/**
 * Does the receiver hold (or should it hold) this post? Those it sent us, ours written after its share began
 * (history before it is not sent by live sync, as Mattermost does not send it), and history a backfill has handed
 * over. Reactions and acknowledgements on other posts are not sent: they would only be refused.
 */
export function isSharedWith(
  post: Pick<PostRecord, 'remote_id' | 'type' | 'seq' | 'create_at' | 'id' | 'delete_at'>,
  scr: Pick<SharedChannelRemoteRecord, 'remote_id'> & HistoryScope,
): boolean {
  if (post.remote_id === scr.remote_id) return true;
  return goesTo(post, scr.remote_id) && (post.seq > scr.first_post_seq || historyPosition(post, scr) === 'covered');
}

/** One of ours from before the share, which live sync does not send: what a history backfill is about. */
export function isHistoryPost(post: Pick<PostRecord, 'remote_id' | 'type' | 'seq'>, scr: Pick<SharedChannelRemoteRecord, 'remote_id' | 'first_post_seq'>): boolean {
  return goesTo(post, scr.remote_id) && post.seq <= scr.first_post_seq;
}

/**
 * `posts` with every reply's root (when it is in the list) moved just before the reply, and the order otherwise
 * kept (commit order): a root edited after its reply has the later seq, and would arrive second.
 */
export function rootsFirst(posts: PostRecord[]): PostRecord[] {
  const byId = new Map(posts.map((p) => [p.id, p]));
  const emitted = new Set<string>();
  const out: PostRecord[] = [];
  for (const p of posts) {
    if (emitted.has(p.id)) continue;
    const root = p.root_id ? byId.get(p.root_id) : undefined;
    if (root && !emitted.has(root.id)) {
      out.push(root);
      emitted.add(root.id);
    }
    out.push(p);
    emitted.add(p.id);
  }
  return out;
}

/**
 * Posts (protocol 5.4-5.6, with our cursor): the next batch after the (seq, id) cursor in commit order, plus
 * retries that are due, each reply after its root. The receiver's post_errors say what it refused; a refused reply
 * whose root was not in its message is sent once more right away with its root (the receiver may have lost it).
 * Refused posts go to the retry table (backoff, then parked), too large ones are parked at once, replies whose root
 * the receiver does not have wait for it; the cursor then moves past the whole batch. Accepted posts release what
 * waited for them.
 */
@Injectable()
export class PostStream implements SyncStream<void, PostsCollected, PostsOutcome> {
  constructor(
    private readonly feed: ChannelFeed,
    private readonly users: UserDirectory,
    private readonly shares: SharedChannelStore,
    private readonly repo: SyncRepository,
    private readonly transport: SyncTransport,
    private readonly metrics: SyncMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async collect(ctx: PassContext): Promise<PostsCollected> {
    const { channelId, remoteId, scr } = ctx;
    const batch = this.config.sync.batchPosts;
    const start = key(scr.last_post_seq, scr.last_post_seq_id);
    const [scanned, due] = await Promise.all([
      this.feed.postsAfter(channelId, start, batch),
      this.repo.dueRetries(channelId, remoteId, 'post', ctx.now, SYNC_RETRIES_PER_PASS),
    ]);
    const cursor = scanned.length ? key(scanned[scanned.length - 1].seq, scanned[scanned.length - 1].id) : start;
    const fresh = scanned.filter((p) => goesTo(p, remoteId));
    const freshIds = new Set(fresh.map((p) => p.id));
    const dueIds = due.map((r) => r.item_key).filter((id) => !freshIds.has(id));
    const retried = new Map((await this.feed.postsByIds(dueIds)).filter((p) => p.channel_id === channelId && goesTo(p, remoteId)).map((p) => [p.id, p]));
    const gone = dueIds.filter((id) => !retried.has(id));

    // Roots of replies that are not in the batch: held for this remote (the reply waits), changed since the cursor
    // (sent first), or needed by a retried reply (sent again with it); otherwise the receiver has them.
    let posts = [...fresh, ...retried.values()];
    const inList = new Set(posts.map((p) => p.id));
    const rootIds = [...new Set(posts.filter((p) => p.root_id && !inList.has(p.root_id)).map((p) => p.root_id))];
    const [rootRows, heldRoots] = await Promise.all([this.feed.postsByIds(rootIds), this.repo.heldKeys(channelId, remoteId, 'post', rootIds)]);
    const roots = new Map(rootRows.filter((r) => r.channel_id === channelId).map((r) => [r.id, r]));
    const waiting: PostsCollected['waiting'] = [];
    const extraRoots = new Map<string, PostRecord>();
    posts = posts.filter((p) => {
      if (!p.root_id || inList.has(p.root_id)) return true;
      const root = roots.get(p.root_id);
      if (!root || !goesTo(root, remoteId)) return true;
      if (heldRoots.has(root.id)) {
        waiting.push({ post: p, root: root.id });
        return false;
      }
      const beyondCursor = root.seq > start.seq || (root.seq === start.seq && root.id > start.key);
      if (beyondCursor || retried.has(p.id)) extraRoots.set(root.id, root);
      return true;
    });
    posts = rootsFirst([...posts, ...extraRoots.values()]);
    const mentions = await this.resolveMentions(channelId, ctx.share, posts);
    return {
      scanned,
      cursor,
      posts,
      waiting,
      gone,
      mentions,
      userIds: [...new Set([...posts.map((p) => p.user_id), ...mentions.users.map((u) => u.id)])],
      full: scanned.length >= batch || due.length >= SYNC_RETRIES_PER_PASS,
    };
  }

  /**
   * A history backfill's batch (oldest first), collected as the live stream collects its own: each reply after its
   * root, a reply whose root the remote does not have yet (held in the retry table) waiting for it, mentions resolved.
   * There is no cursor to move: the backfill keeps its own.
   */
  async collectHistory(ctx: PassContext, batch: PostRecord[]): Promise<PostsCollected> {
    const inBatch = new Set(batch.map((p) => p.id));
    const rootIds = [...new Set(batch.filter((p) => p.root_id && !inBatch.has(p.root_id)).map((p) => p.root_id))];
    const heldRoots = await this.repo.heldKeys(ctx.channelId, ctx.remoteId, 'post', rootIds);
    const waiting = batch.filter((p) => heldRoots.has(p.root_id)).map((p) => ({ post: p, root: p.root_id }));
    const posts = rootsFirst(batch.filter((p) => !heldRoots.has(p.root_id)));
    const mentions = await this.resolveMentions(ctx.channelId, ctx.share, posts);
    return {
      scanned: [],
      cursor: key(ctx.scr.last_post_seq, ctx.scr.last_post_seq_id),
      posts,
      waiting,
      gone: [],
      mentions,
      userIds: [...new Set([...posts.map((p) => p.user_id), ...mentions.users.map((u) => u.id)])],
      full: false,
    };
  }

  async send(ctx: PassContext, c: PostsCollected): Promise<PostsOutcome> {
    const out: PostsOutcome = { accepted: [], refused: [], tooLarge: [], waiting: [] };
    if (!c.posts.length) return out;
    const first = await this.deliver(ctx, c, c.posts);
    out.accepted.push(...first.accepted);
    out.tooLarge.push(...first.tooLarge);
    const taken = new Set(first.accepted.map((p) => p.id));
    const notTaken = new Set([...first.refused, ...first.tooLarge].map((p) => p.id));
    const sentIds = new Set(c.posts.map((p) => p.id));

    // A reply refused although its root was not refused in this pass: the receiver may lack the root (lost, or
    // history it never had). Send both once more, the root first; what is refused then is refused for good.
    const again: PostRecord[] = [];
    for (const p of first.refused) {
      if (p.root_id && notTaken.has(p.root_id)) out.waiting.push({ post: p, root: p.root_id });
      else if (p.root_id && !taken.has(p.root_id) && !sentIds.has(p.root_id)) again.push(p);
      else out.refused.push(p);
    }
    if (again.length) {
      const roots = new Map(
        (await this.feed.postsByIds([...new Set(again.map((p) => p.root_id))]))
          .filter((r) => r.channel_id === ctx.channelId && goesTo(r, ctx.remoteId))
          .map((r) => [r.id, r]),
      );
      const againIds = new Set(again.map((p) => p.id));
      const second = await this.deliver(ctx, c, rootsFirst([...roots.values(), ...again]));
      const secondNotTaken = new Set([...second.refused, ...second.tooLarge].map((p) => p.id));
      out.accepted.push(...second.accepted);
      out.tooLarge.push(...second.tooLarge);
      for (const p of second.refused) {
        if (againIds.has(p.id) && secondNotTaken.has(p.root_id)) out.waiting.push({ post: p, root: p.root_id });
        else out.refused.push(p);
      }
    }
    for (const p of [...out.refused, ...out.tooLarge, ...out.waiting.map((w) => w.post), ...c.waiting.map((w) => w.post)]) ctx.postsNotTaken.add(p.id);
    for (const p of out.accepted) if (!ctx.postsNotTaken.has(p.id)) ctx.postsTaken.add(p.id);
    ctx.sent.posts += out.accepted.length;
    if (out.accepted.length) this.metrics.itemsSent.inc({ remote_id: ctx.remoteId, kind: 'post' }, out.accepted.length);
    return out;
  }

  async advance(ctx: PassContext, c: PostsCollected, o: PostsOutcome): Promise<void> {
    const { channelId, remoteId, now } = ctx;
    const row = (p: PostRecord, waitingFor = '') => ({ kind: 'post' as const, item_key: p.id, post_id: p.id, waiting_for: waitingFor, update_at: p.update_at });
    const max = ctx.maxAttempts;
    await this.transport.recordRetries(ctx, [...c.waiting, ...o.waiting].map((w) => row(w.post, w.root)), {
      error: `waits for its root, which ${ctx.remoteName} does not have yet`,
      now,
      attempt: false,
      maxAttempts: max,
    });
    await this.transport.recordRetries(ctx, o.refused.map((p) => row(p)), { error: `refused by ${ctx.remoteName}`, now, attempt: true, maxAttempts: max });
    await this.transport.recordRetries(ctx, o.tooLarge.map((p) => row(p)), {
      error: `too large for ${ctx.remoteName} even alone (413)`,
      now,
      attempt: true,
      park: true,
      maxAttempts: max,
    });
    if (o.refused.length) this.metrics.itemErrors.inc({ remote_id: remoteId, kind: 'post' }, o.refused.length);
    if (o.tooLarge.length) this.metrics.itemErrors.inc({ remote_id: remoteId, kind: 'post_parked' }, o.tooLarge.length);
    const released = await this.repo.recordAccepted(channelId, remoteId, 'post', [...o.accepted.map((p) => p.id), ...c.gone], now);
    // What waited for these posts is due now: another pass takes it at once.
    if (released) ctx.again = true;
    if (c.scanned.length) await this.saveCursor(ctx.scr, c.cursor, c.scanned);
  }

  private async deliver(ctx: PassContext, c: PostsCollected, posts: PostRecord[]): Promise<Delivery<PostRecord>> {
    const wire = await this.toWirePosts(ctx.channelId, posts);
    const transforms = c.mentions.transforms;
    return this.transport.deliver(ctx, {
      kind: 'post',
      items: posts,
      content: (chunk) => ({
        posts: chunk.map((p) => wire.get(p.id)!),
        ...(Object.keys(transforms).length ? { mention_transforms: transforms } : {}),
      }),
      replyKey: (p) => p.id,
      maxItems: Number.MAX_SAFE_INTEGER,
      bytes: (p) => Buffer.byteLength(JSON.stringify(wire.get(p.id))),
      traced: (p) => ({ post_id: p.id, item_key: p.id, update_at: p.update_at }),
    });
  }

  /** The wire posts, with permalinks to posts of this channel pointing at their shared form (section 9.1). */
  async toWirePosts(channelId: string, posts: PostRecord[]): Promise<Map<string, WirePost>> {
    const linked = [...new Set(posts.flatMap((p) => permalinkPostIds(p.message)))];
    const sameChannel = new Set(linked.length ? (await this.feed.postsByIds(linked)).filter((p) => p.channel_id === channelId).map((p) => p.id) : []);
    const out = new Map<string, WirePost>();
    for (const p of posts) {
      const wire = toWirePost(p);
      out.set(p.id, sameChannel.size ? { ...wire, message: toSharedPermalinks(wire.message, sameChannel) } : wire);
    }
    return out;
  }

  /**
   * Section 9.2, sender side: @mentions in the posts that name users of the channel's team (or of the channel, for
   * direct and group messages) become mention_transforms; the message text is not changed.
   */
  async resolveMentions(
    channelId: string,
    share: SharedChannelRecord | null,
    posts: PostRecord[],
  ): Promise<{ transforms: Record<string, string>; users: UserRecord[] }> {
    const lists = posts.filter((p) => !p.delete_at).flatMap((p) => possibleMentions(p.message));
    if (!lists.length) return { transforms: {}, users: [] };
    const found = new Map((await this.users.findByUsernames([...new Set(lists.flat())])).map((u) => [u.username, u]));
    const ids = [...new Set([...found.values()].map((u) => u.id))];
    const [inChannel, inTeam] = await Promise.all([
      this.feed.channelMemberIds(channelId, ids),
      share?.team_id ? this.feed.teamMemberIds(share.team_id, ids) : Promise.resolve([]),
    ]);
    const members = new Set(inChannel);
    const eligible = new Set([...inChannel, ...inTeam]);
    const transforms: Record<string, string> = {};
    const users = new Map<string, UserRecord>();
    for (const candidates of lists) {
      const mention = candidates.find((c) => found.has(c) && eligible.has(found.get(c)!.id));
      if (!mention) continue;
      const user = found.get(mention)!;
      transforms[mention] = user.id;
      // Only members of the shared channel travel as profiles. A Mattermost receiver adds every user of a sync
      // message to its team and channel (section 12.12): a mentioned non-member would be joined there. Without
      // the profile the receiver still renders the mention, as @name:<this server's connection name>.
      if (members.has(user.id)) users.set(user.id, user);
    }
    return { transforms, users: [...users.values()] };
  }

  private async saveCursor(scr: SharedChannelRemoteRecord, cursor: SeqCursor, scanned: PostRecord[]): Promise<void> {
    // Mattermost's timestamp cursor fields are kept meaningful for the API: the newest create and update covered.
    const newestCreate = scanned.reduce((a, p) => (p.create_at > a.create_at || (p.create_at === a.create_at && p.id > a.id) ? p : a), scanned[0]);
    const newestUpdate = scanned.reduce((a, p) => (p.update_at > a.update_at || (p.update_at === a.update_at && p.id > a.id) ? p : a), scanned[0]);
    await this.shares.saveCursors(scr.id, {
      last_post_seq: cursor.seq,
      last_post_seq_id: cursor.key,
      last_post_create_at: Math.max(scr.last_post_create_at, newestCreate.create_at),
      last_post_create_id: newestCreate.create_at >= scr.last_post_create_at ? newestCreate.id : scr.last_post_create_id,
      last_post_update_at: Math.max(scr.last_post_update_at, newestUpdate.update_at),
      last_post_update_id: newestUpdate.update_at >= scr.last_post_update_at ? newestUpdate.id : scr.last_post_update_id,
      update_at: Date.now(),
    });
  }
}
