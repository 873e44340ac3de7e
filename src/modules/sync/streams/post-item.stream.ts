import type { PostRecord, SeqCursor } from '../../chat/feed/channel-feed.service.js';
import type { SharedChannelRemoteRecord } from '../../shared-channel/shared-channel-store.service.js';
import { SYNC_BATCH_REACTIONS, SYNC_RETRIES_PER_PASS } from '../sync.constants.js';
import type { SyncMetrics } from '../sync.metrics.js';
import type { PassContext, SyncStream } from '../sync-pass.js';
import type { SyncRepository } from '../sync.repository.js';
import type { SyncContent, SyncTransport } from '../sync-transport.service.js';
import { historyItemRole, historyPosition } from '../backfill/history-coverage.js';
import { isHistoryPost, isSharedWith } from './post.stream.js';

/** What reactions and acknowledgements have in common: they belong to a post, and their cursor is (seq, key). */
export interface PostItem {
  user_id: string;
  post_id: string;
  remote_id: string | null;
  seq: number;
  key: string;
  update_at: number;
}

export interface PostItemsCollected<T extends PostItem> {
  /** Read after the cursor, up to the first item on a post the post cursor has not passed: the cursor moves past these. */
  covered: T[];
  toSend: T[];
  /** Items on posts the receiver does not have yet (their post is refused, parked or waiting): they wait for it. */
  held: T[];
  /** Items on history posts the running backfill has not handed over yet: they wait for it (see historyItemRole). */
  historyHeld: T[];
  /** Retry rows that have nothing left to send (the item or its post is gone, or it may not go there). */
  dropped: string[];
  /** The posts of all of these. */
  posts: Map<string, PostRecord>;
  userIds: string[];
  full: boolean;
}

export interface PostItemsOutcome<T extends PostItem> {
  accepted: T[];
  refused: T[];
  tooLarge: T[];
  held: T[];
  /** Posts asked for again because the receiver refused items on them (it may have lost them). */
  requested: string[];
}

/** Where the post stream left this pass: items on posts beyond it wait for the next pass (their post goes first). */
export interface PostCursorInput {
  postCursorSeq: number;
}

/**
 * Reactions and acknowledgements (protocol 5.6 steps 5-6), each from its own (seq, key) cursor. The dependency on the
 * post is kept by construction:
 *
 * - the scan stops at the first item whose post the post cursor has not passed (it goes after its post, next pass);
 * - an item on a post the receiver does not have (its post was refused, is parked, waits for its root, or failed in
 *   this very pass) is held in the retry table, waiting for that post; it goes when the post is accepted;
 * - an item the receiver refuses (`reaction_errors` / `acknowledgement_errors`, by post id) makes its post due again
 *   (the receiver may have lost it) and waits for it, counting an attempt; parked after SYNC_POST_MAX_ATTEMPTS;
 * - items on posts the receiver should not have (history before the share, local notices) are not sent.
 *
 * A Mattermost receiver never reports reaction errors: there the first two rules are what keeps reactions from
 * being sent into a refusal.
 */
export abstract class PostItemStream<T extends PostItem> implements SyncStream<PostCursorInput, PostItemsCollected<T>, PostItemsOutcome<T>> {
  protected abstract readonly kind: 'reaction' | 'acknowledgement';

  constructor(
    protected readonly repo: SyncRepository,
    protected readonly transport: SyncTransport,
    protected readonly metrics: SyncMetrics,
    private readonly postsByIds: (ids: string[]) => Promise<PostRecord[]>,
    /** The (channel, remote) row as it is now (a history backfill moves on while a pass runs). */
    private readonly reloadRemote: (scr: SharedChannelRemoteRecord) => Promise<SharedChannelRemoteRecord | null>,
  ) {}

  protected abstract scan(channelId: string, after: SeqCursor, limit: number): Promise<T[]>;
  protected abstract load(channelId: string, keys: string[]): Promise<T[]>;
  protected abstract cursorOf(scr: SharedChannelRemoteRecord): SeqCursor;
  protected abstract saveCursor(scr: SharedChannelRemoteRecord, last: T): Promise<void>;
  protected abstract content(items: T[]): SyncContent;
  protected abstract wireBytes(item: T): number;
  protected abstract countSent(ctx: PassContext, n: number): void;

  async collect(ctx: PassContext, input: PostCursorInput): Promise<PostItemsCollected<T>> {
    const { channelId, remoteId, scr } = ctx;
    const [rows, due] = await Promise.all([
      this.scan(channelId, this.cursorOf(scr), SYNC_BATCH_REACTIONS),
      this.repo.dueRetries(channelId, remoteId, this.kind, ctx.now, SYNC_RETRIES_PER_PASS),
    ]);
    const loaded = await this.load(channelId, due.map((r) => r.item_key));
    const postIds = [...new Set([...rows, ...loaded].map((i) => i.post_id))];
    const [postRows, heldPosts] = await Promise.all([this.postsByIds(postIds), this.repo.heldKeys(channelId, remoteId, 'post', postIds)]);
    const posts = new Map(postRows.map((p) => [p.id, p]));
    const covered: T[] = [];
    for (const r of rows) {
      const post = posts.get(r.post_id);
      if (post && post.seq > input.postCursorSeq) break;
      covered.push(r);
    }
    const retryKeys = new Set(due.map((r) => r.item_key));
    const candidates = new Map<string, T>([...loaded, ...covered].map((i) => [i.key, i]));
    const c: PostItemsCollected<T> = { covered, toSend: [], held: [], historyHeld: [], dropped: [], posts, userIds: [], full: false };
    const found = new Set(loaded.map((i) => i.key));
    for (const key of retryKeys) if (!found.has(key)) c.dropped.push(key);
    // Items on history posts follow the backfill as it is now, read after the scan: an item stamped after the walk
    // began is live sync's, and a walk that moved on since the pass opened must not make it dropped.
    const history = [...candidates.values()].some((i) => {
      const post = posts.get(i.post_id);
      return i.remote_id !== remoteId && post?.channel_id === channelId && isHistoryPost(post, scr);
    });
    const fresh = history ? ((await this.reloadRemote(scr)) ?? scr) : scr;
    for (const item of candidates.values()) {
      const post = posts.get(item.post_id);
      if (item.remote_id === remoteId || !post || post.channel_id !== channelId) {
        if (retryKeys.has(item.key)) c.dropped.push(item.key);
        continue;
      }
      const role = isHistoryPost(post, fresh) ? historyItemRole(post, item.seq, retryKeys.has(item.key), fresh) : isSharedWith(post, fresh) ? 'send' : 'drop';
      if (role === 'drop') {
        if (retryKeys.has(item.key)) c.dropped.push(item.key);
      } else if (role === 'hold') c.historyHeld.push(item);
      else if (heldPosts.has(item.post_id)) c.held.push(item);
      else c.toSend.push(item);
    }
    c.userIds = [...new Set(c.toSend.map((i) => i.user_id))];
    c.full = rows.length >= SYNC_BATCH_REACTIONS || due.length >= SYNC_RETRIES_PER_PASS;
    return c;
  }

  async send(ctx: PassContext, c: PostItemsCollected<T>): Promise<PostItemsOutcome<T>> {
    // Held at collection for a post the receiver took since, in this pass: they go now (nothing else would release
    // them: the post's acceptance released what was recorded before it).
    const ready = [...c.toSend, ...c.held.filter((i) => ctx.postsTaken.has(i.post_id))];
    const held = [...c.held.filter((i) => !ctx.postsTaken.has(i.post_id)), ...ready.filter((i) => ctx.postsNotTaken.has(i.post_id))];
    const items = ready.filter((i) => !ctx.postsNotTaken.has(i.post_id));
    const out: PostItemsOutcome<T> = { accepted: [], refused: [], tooLarge: [], held, requested: [] };
    if (!items.length) return out;
    const d = await this.transport.deliver(ctx, {
      kind: this.kind,
      items,
      content: (chunk) => this.content(chunk),
      replyKey: (i) => i.post_id,
      maxItems: SYNC_BATCH_REACTIONS,
      bytes: (i) => this.wireBytes(i),
      traced: (i) => ({ post_id: i.post_id, item_key: i.key, update_at: i.update_at }),
    });
    out.accepted = d.accepted;
    out.refused = d.refused;
    out.tooLarge = d.tooLarge;
    // The receiver says it cannot take items on these posts: it may not have the post (lost, or never got it).
    // The post goes again (a post that came from the receiver cannot: those items only back off).
    out.requested = [...new Set(d.refused.map((i) => i.post_id))].filter((id) => c.posts.get(id)?.remote_id !== ctx.remoteId);
    this.countSent(ctx, d.accepted.length);
    if (d.accepted.length) this.metrics.itemsSent.inc({ remote_id: ctx.remoteId, kind: this.kind }, d.accepted.length);
    return out;
  }

  async advance(ctx: PassContext, c: PostItemsCollected<T>, o: PostItemsOutcome<T>): Promise<void> {
    const { channelId, remoteId, now } = ctx;
    const max = ctx.maxAttempts;
    const requested = new Set(o.requested);
    const row = (i: T, waitingFor = '') => ({ kind: this.kind, item_key: i.key, post_id: i.post_id, waiting_for: waitingFor, update_at: i.update_at });
    await this.transport.recordRetries(ctx, o.held.map((i) => row(i, i.post_id)), {
      error: `waits for its post, which ${ctx.remoteName} does not have yet`,
      now,
      attempt: false,
      maxAttempts: max,
    });
    await this.transport.requestPosts(ctx, o.requested, now, `${ctx.remoteName} refused a ${this.kind} on it: it may lack the post`);
    await this.transport.recordRetries(ctx, o.refused.map((i) => row(i, requested.has(i.post_id) ? i.post_id : '')), {
      error: `refused by ${ctx.remoteName}`,
      now,
      attempt: true,
      maxAttempts: max,
    });
    await this.transport.recordRetries(ctx, o.tooLarge.map((i) => row(i)), {
      error: `too large for ${ctx.remoteName} even alone (413)`,
      now,
      attempt: true,
      park: true,
      maxAttempts: max,
    });
    if (o.refused.length) this.metrics.itemErrors.inc({ remote_id: remoteId, kind: this.kind }, o.refused.length);
    if (o.requested.length) ctx.again = true;
    await this.holdForHistory(ctx, c.historyHeld);
    await this.repo.recordAccepted(channelId, remoteId, this.kind, [...o.accepted.map((i) => i.key), ...c.dropped], now);
    if (c.covered.length) await this.saveCursor(ctx.scr, c.covered[c.covered.length - 1]);
  }

  /**
   * Items on history posts the backfill has not handed over yet wait for their post in the retry table; the backfill
   * releases what waits on the posts it passes. Read again after recording: a post the backfill passed meanwhile
   * (its release ran before these rows existed) is released here, so nothing waits for good.
   */
  private async holdForHistory(ctx: PassContext, items: T[]): Promise<void> {
    if (!items.length) return;
    await this.transport.recordRetries(
      ctx,
      items.map((i) => ({ kind: this.kind, item_key: i.key, post_id: i.post_id, waiting_for: i.post_id, update_at: i.update_at })),
      { error: 'waits for the history backfill to hand its post over', now: ctx.now, attempt: false, maxAttempts: ctx.maxAttempts },
    );
    const scr = (await this.reloadRemote(ctx.scr)) ?? ctx.scr;
    const posts = await this.postsByIds([...new Set(items.map((i) => i.post_id))]);
    const passed = posts.filter((p) => historyPosition(p, scr) !== 'pending').map((p) => p.id);
    if (passed.length && (await this.repo.releaseWaitingFor(ctx.channelId, ctx.remoteId, passed, Date.now()))) ctx.again = true;
  }
}
