import { Inject, Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { AppError } from '../../../common/app-error.js';
import { APP_CONFIG, type AppConfig } from '../../../config/app-config.js';
import { JobProducer } from '../../../queue/job-producer.js';
import { JobName } from '../../../queue/queue.constants.js';
import { ChannelFeed, type PostRecord } from '../../chat/feed/channel-feed.service.js';
import { CONNECTION_STATE_EVENT, type ConnectionStateChange } from '../../remote-cluster/connection-state.service.js';
import { type BackfillJson, toBackfillJson } from '../../shared-channel/history.js';
import { SHARED_CHANNEL_EVENT, type SharedChannelEvent } from '../../shared-channel/shared-channel-events.service.js';
import { SharedChannelStore, type SharedChannelRemoteRecord } from '../../shared-channel/shared-channel-store.service.js';
import type { PassContext, SyncStream } from '../sync-pass.js';
import { SyncSender } from '../sync-sender.service.js';
import { SyncTransport } from '../sync-transport.service.js';
import { type AckItem, AcknowledgementStream } from '../streams/acknowledgement.stream.js';
import { AttachmentStream } from '../streams/attachment.stream.js';
import type { PostItem, PostItemsCollected } from '../streams/post-item.stream.js';
import { PostStream } from '../streams/post.stream.js';
import { type ReactionItem, ReactionStream } from '../streams/reaction.stream.js';
import { UserStream } from '../streams/user.stream.js';
import { BackfillRepository, type WalkCursor, type WalkScope } from './backfill.repository.js';

/** How long one backfill job walks before it hands the rest to its successor (and the worker slot to live sync). */
export const BACKFILL_JOB_BUDGET_MS = 1_000;
/** Backfill jobs running at once per replica: history never takes more than these of the sync worker's slots. */
export const BACKFILL_JOBS_PER_REPLICA = 2;
/** A backfill job that finds the replica's backfill slots taken waits this long and tries again. */
export const BACKFILL_BUSY_DELAY_MS = 250;
/**
 * BullMQ priority of backfill jobs. Jobs without a priority (every live sync job) are always taken first: a backfill
 * job only ever starts when no live job is waiting.
 */
export const BACKFILL_PRIORITY = 10;
/** Rounds of widening a days-back walk so that no reply in it goes without its thread's root. */
const WIDEN_ROUNDS = 20;
const END: WalkCursor = { at: Number.MAX_SAFE_INTEGER, id: '' };

export function backfillJobKey(channelId: string, remoteId: string): string {
  return `backfill:${remoteId}:${channelId}`;
}

/** What one backfill job did, and whether its pair's live sync should run now (items released for it). */
export interface BackfillRunResult {
  more: boolean;
  liveDue: boolean;
  progress: BackfillJson | null;
}

const BackfillErrors = {
  notShared: () => AppError.notFound('app.sync.backfill.not_shared', 'The channel is not shared with this remote.'),
  notHome: () => AppError.badRequest('app.sync.backfill.not_home', "Only the channel's home server sends its history."),
  running: () =>
    new AppError('app.sync.backfill.running', 'A history backfill of this channel to this remote is running; ask for more history when it is done.', 409),
  liveBehind: () =>
    new AppError('app.sync.backfill.live_behind', 'Live sync of this channel to this remote is catching up; ask again in a moment.', 409),
};

/**
 * History on share (not in Mattermost, whose shares start empty: protocol 12.13). A walk per (channel, remote) sends
 * our posts from before the share (seq <= first_post_seq, what live sync never sends) created since the asked time,
 * oldest first by (create_at, id), with their reactions, acknowledgements, files and the users they need, through the
 * same streams and transport as live sync: the receiver authorizes it as any sync message, refusals go to the retry
 * table (retried, then parked), replies wait for their roots. A Mattermost receiver gets ordinary sharedchannel_sync
 * messages.
 *
 * It never delays live sync: each job walks for BACKFILL_JOB_BUDGET_MS in batches of SYNC_BACKFILL_BATCH posts, then
 * queues its successor with a BullMQ priority, so live jobs (no priority) always start first, and at most
 * BACKFILL_JOBS_PER_REPLICA run at once. Live and backfill jobs of one pair run side by side; each item still goes
 * exactly once and never before its post (see historyItemRole). The walk's cursor and counts live in the
 * (channel, remote) row, advanced only after the remote answered, so a restart resumes where it stopped (the job
 * comes back from Redis, or the sweep queues it again).
 */
@Injectable()
export class BackfillService {
  private readonly logger = new Logger(BackfillService.name);

  constructor(
    private readonly shares: SharedChannelStore,
    private readonly feed: ChannelFeed,
    private readonly repo: BackfillRepository,
    private readonly sender: SyncSender,
    private readonly transport: SyncTransport,
    private readonly users: UserStream,
    private readonly attachments: AttachmentStream,
    private readonly posts: PostStream,
    private readonly acks: AcknowledgementStream,
    private readonly reactions: ReactionStream,
    private readonly jobs: JobProducer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  // ---- starting -----------------------------------------------------------------------------------------------

  /** An invite that asked for history was confirmed: the walk begins. */
  @OnEvent(SHARED_CHANNEL_EVENT)
  async onShareEvent(e: SharedChannelEvent): Promise<void> {
    if (e.kind !== 'remote_confirmed') return;
    const scr = await this.shares.findRemote(e.channel_id, e.remote_id);
    if (scr && !scr.delete_at && scr.is_invite_confirmed && scr.backfill_state === 'requested') await this.begin(scr, scr.backfill_since, 0);
  }

  /** A remote came back: its walks go on. */
  @OnEvent(CONNECTION_STATE_EVENT)
  async onConnectionState(change: ConnectionStateChange): Promise<void> {
    if (change.online) await this.sweep(Date.now(), change.remote_id);
  }

  /** The safety net (with the sync sweep): walks asked for and not begun, and running ones, of online remotes. */
  async sweep(now = Date.now(), onlyRemote?: string): Promise<number> {
    const rows = await this.shares.findBackfillsToRun(now - this.config.remoteCluster.offlineAfterMs);
    let n = 0;
    for (const row of rows) {
      if (onlyRemote && row.remote_id !== onlyRemote) continue;
      if (row.backfill_state === 'running') await this.enqueue(row.channel_id, row.remote_id);
      else {
        const scr = await this.shares.findRemote(row.channel_id, row.remote_id);
        if (scr?.backfill_state === 'requested') await this.begin(scr, scr.backfill_since, 0);
      }
      n++;
    }
    return n;
  }

  /**
   * POST .../backfill: history from `since` (0: all). Nothing new when what is asked is covered (or being walked)
   * already; an earlier walk is extended back in time by a new one over what it did not cover.
   */
  async request(channelId: string, remoteId: string, since: number): Promise<SharedChannelRemoteRecord> {
    const [scr, share] = await Promise.all([this.shares.findRemote(channelId, remoteId), this.shares.findShare(channelId)]);
    if (!scr || scr.delete_at) throw BackfillErrors.notShared();
    if (!share?.home) throw BackfillErrors.notHome();
    const asked = scr.backfill_state === '' ? -1 : scr.backfill_since;
    if (asked >= 0 && since >= asked) return scr;
    switch (scr.backfill_state) {
      case 'running':
        throw BackfillErrors.running();
      case 'done': {
        // What live sync scans on the history already walked is then its own: it must have passed that walk's start.
        const cursors = {
          reaction: { at: scr.last_reaction_seq, id: scr.last_reaction_key },
          ack: { at: scr.last_ack_seq, id: scr.last_ack_key },
        };
        if (await this.repo.liveScanPending(channelId, cursors, scr.backfill_seq)) throw BackfillErrors.liveBehind();
        await this.begin(scr, since, scr.backfill_since);
        break;
      }
      default:
        if (!scr.is_invite_confirmed) {
          // The invite is still pending: the walk begins when the remote confirms it.
          await this.shares.saveBackfill(scr.id, { backfill_state: scr.backfill_state }, { backfill_state: 'requested', backfill_since: since });
        } else await this.begin(scr, since, 0);
    }
    return (await this.shares.findRemote(channelId, remoteId)) ?? scr;
  }

  /**
   * Begins a walk over [since, until) (until 0: no bound): where live sync starts is settled first (its cursors are
   * set up if no pass has run yet), a days-back `since` moves back to the oldest root of a reply in it (no reply
   * arrives without its thread), and what is to send is counted. Only from the state read, so one replica begins it.
   */
  private async begin(row: SharedChannelRemoteRecord, since: number, until: number): Promise<void> {
    const scr = await this.sender.initialiseCursors(row);
    // For the count only (progress): the walk's own bound is taken under the channel's lock as it begins.
    const seq = await this.feed.channelSeq(scr.channel_id);
    const scope: WalkScope = { channelId: scr.channel_id, remoteId: scr.remote_id, firstPostSeq: scr.first_post_seq, since, until };
    for (let i = 0; i < WIDEN_ROUNDS && scope.since > 0; i++) {
      const root = await this.repo.oldestOutsideRoot(scope);
      if (root === null) break;
      scope.since = root;
    }
    const total = await this.repo.countItems(scope, seq);
    const now = Date.now();
    // Items on history posts stamped up to backfill_seq are the walk's, later ones live sync's: the bound is read under
    // the channel's write lock with the state change, so no item is stamped past it before live sync can see the walk.
    const begun = await this.shares.beginBackfill(
      { id: scr.id, channel_id: scr.channel_id, backfill_state: row.backfill_state },
      {
        backfill_state: 'running',
        backfill_since: scope.since,
        backfill_until: until,
        backfill_cursor_at: scope.since,
        backfill_cursor_id: '',
        backfill_total: total,
        backfill_sent: 0,
        backfill_refused: 0,
        backfill_started_at: now,
        backfill_finished_at: 0,
        update_at: now,
      },
    );
    if (begun === null) return;
    this.logger.log({ channel_id: scr.channel_id, remote_id: scr.remote_id, since: scope.since, until, items: total }, 'history backfill begins');
    await this.enqueue(scr.channel_id, scr.remote_id);
  }

  /** The next job of the pair's walk (one waits, one runs: a request while one runs follows it). */
  async enqueue(channelId: string, remoteId: string): Promise<void> {
    await this.jobs.enqueue(
      JobName.SyncBackfill,
      { channel_id: channelId, remote_id: remoteId },
      { priority: BACKFILL_PRIORITY, deduplication: { id: backfillJobKey(channelId, remoteId), keepLastIfActive: true } },
    );
  }

  // ---- walking ------------------------------------------------------------------------------------------------

  /** One job: batches until the walk is done, the remote is away, or `deadline`. */
  async run(channelId: string, remoteId: string, deadline: number, progress: (p: BackfillJson) => Promise<void>): Promise<BackfillRunResult> {
    let liveDue = false;
    for (;;) {
      const opened = await this.sender.open(channelId, remoteId, { backfill: true });
      if (!('ctx' in opened)) return { more: false, liveDue, progress: null };
      const { ctx } = opened;
      if (ctx.scr.backfill_state !== 'running') return { more: false, liveDue, progress: toBackfillJson(ctx.scr) };
      const step = await this.batch(ctx);
      liveDue ||= step.liveDue;
      const now = (await this.shares.findRemote(channelId, remoteId)) ?? ctx.scr;
      const json = toBackfillJson(now);
      if (json) await progress(json);
      if (step.done || !step.moved) return { more: false, liveDue, progress: json };
      if (Date.now() >= deadline) return { more: true, liveDue, progress: json };
    }
  }

  /** One batch: the next posts of the walk with what goes with them, then the cursor. */
  private async batch(ctx: PassContext): Promise<{ done: boolean; moved: boolean; liveDue: boolean }> {
    const { scr, channelId, remoteId } = ctx;
    const scope: WalkScope = { channelId, remoteId, firstPostSeq: scr.first_post_seq, since: scr.backfill_since, until: scr.backfill_until };
    const from: WalkCursor = { at: scr.backfill_cursor_at, id: scr.backfill_cursor_id };
    const limit = this.config.sync.backfillBatchPosts;
    const next = await this.repo.nextBatch(scope, from, limit);
    if (!next.length) return { done: true, moved: await this.finish(ctx, from), liveDue: true };

    const ids = next.map((p) => p.id);
    const byId = new Map((await this.feed.postsByIds(ids)).filter((p) => p.channel_id === channelId).map((p) => [p.id, p]));
    const batch = ids.map((id) => byId.get(id)).filter((p): p is PostRecord => !!p);
    const [reactionRows, ackRows] = await Promise.all([
      this.feed.reactionsOfPosts(channelId, ids, scr.backfill_seq, remoteId),
      this.feed.acksOfPosts(channelId, ids, scr.backfill_seq, remoteId),
    ]);
    const posts = await this.posts.collectHistory(ctx, batch);
    const users = await this.users.collect(ctx, {
      referenced: [...posts.userIds, ...reactionRows.map((r) => r.user_id), ...ackRows.map((a) => a.user_id)],
    });
    await this.step(this.users, ctx, users);
    await this.step(this.attachments, ctx, await this.attachments.collect(ctx, { posts: posts.posts }));
    const postOutcome = await this.step(this.posts, ctx, posts);
    const ackOutcome = await this.step(this.acks, ctx, this.items<AckItem>(ackRows, byId));
    const reactionOutcome = await this.step(this.reactions, ctx, this.items<ReactionItem>(reactionRows, byId));

    const accepted = new Set(postOutcome.accepted.map((p) => p.id));
    const sent = batch.filter((p) => accepted.has(p.id)).length + ackOutcome.accepted.length + reactionOutcome.accepted.length;
    const handled = batch.length + ackRows.length + reactionRows.length;
    const to: WalkCursor = { at: next[next.length - 1].create_at, id: next[next.length - 1].id };
    const moved = await this.shares.saveBackfill(
      scr.id,
      { backfill_state: 'running', backfill_cursor_at: from.at, backfill_cursor_id: from.id },
      {
        backfill_cursor_at: to.at,
        backfill_cursor_id: to.id,
        backfill_sent: scr.backfill_sent + sent,
        backfill_refused: scr.backfill_refused + handled - sent,
        update_at: Date.now(),
      },
    );
    // Another job moved the walk on meanwhile (a stalled one came back): it goes on from there.
    if (!moved) return { done: false, moved: false, liveDue: false };
    const now = Date.now();
    // What live sync held for these posts goes now; posts changed since they were read go again, newest last.
    const released = await this.repo.releaseWaitingBetween(channelId, remoteId, from, to, now);
    const changed = await this.repo.changedSince(channelId, ids, scr.first_post_seq);
    await this.transport.requestPosts(ctx, changed, now, 'changed while the history backfill sent it: sent again, newest last');
    const done = next.length < limit && (await this.finish({ ...ctx, scr: { ...scr, backfill_cursor_at: to.at, backfill_cursor_id: to.id } }, to));
    return { done, moved: true, liveDue: released > 0 || changed.length > 0 || ctx.again };
  }

  /** The walk is over: marked done (only from where this job left it), and whatever still waited for it goes. */
  private async finish(ctx: PassContext, at: WalkCursor): Promise<boolean> {
    const now = Date.now();
    const finished = await this.shares.saveBackfill(
      ctx.scr.id,
      { backfill_state: 'running', backfill_cursor_at: at.at, backfill_cursor_id: at.id },
      { backfill_state: 'done', backfill_finished_at: now, update_at: now },
    );
    if (!finished) return false;
    await this.repo.releaseWaitingBetween(ctx.channelId, ctx.remoteId, at, END, now);
    this.logger.log({ channel_id: ctx.channelId, remote_id: ctx.remoteId }, 'history backfill done');
    return true;
  }

  /** Reactions or acknowledgements of the batch, handed to their stream as collected items (no cursor of theirs moves). */
  private items<T extends PostItem>(rows: T[], posts: Map<string, PostRecord>): PostItemsCollected<T> {
    return { covered: [], toSend: rows, held: [], historyHeld: [], dropped: [], posts, userIds: [], full: false };
  }

  private async step<C, O>(stream: SyncStream<never, C, O>, ctx: PassContext, collected: C): Promise<O> {
    const outcome = await stream.send(ctx, collected);
    await stream.advance(ctx, collected, outcome);
    return outcome;
  }
}
