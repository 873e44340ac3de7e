import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { UnrecoverableError } from 'bullmq';
import { newId } from '../../common/ids.js';
import { RemoteClusterTransportError } from '../remote-cluster/remote-cluster.client.js';
import { RemoteClusterService } from '../remote-cluster/remote-cluster.service.js';
import { DeliveryTrace, type ItemEvent } from '../remote-cluster/trace/delivery-trace.service.js';
import type { TraceItemKind } from '../remote-cluster/trace/trace-item.entity.js';
import { NO_LONGER_SHARED_EVENT, type NoLongerSharedReport } from '../shared-channel/shared-channel-events.service.js';
import { NO_LONGER_SHARED, type SyncMsg, type SyncResponse, TOPIC_SYNC } from '../shared-channel/wire.types.js';
import { isTooLargeRefusal, isTooLargeText, nullPayloadMeansAccepted, refusalReason, refusedKeys, type SyncKind } from './peer-replies.js';
import { SYNC_MIN_MESSAGE_BYTES } from './sync.constants.js';
import { SyncMetrics } from './sync.metrics.js';
import type { PassContext } from './sync-pass.js';
import type { RetryKind } from './sync-retry.entity.js';
import { type RetryState, SyncRepository } from './sync.repository.js';

/** The peer answered FAIL or could not be reached: the job fails and BullMQ retries it with backoff. */
export class SyncSendError extends Error {}

/** The channel is no longer shared with that remote (on either side): stop, never retry. */
export class NoLongerSharedError extends UnrecoverableError {}

/** The peer refused the request for good (HTTP 4xx other than 408, 413 and 429): retrying the job cannot help. */
export class PeerRefusedError extends UnrecoverableError {}

/** The peer refused the message as too large: the caller splits it. */
export class MessageTooLargeError extends Error {}

export type SyncContent = Omit<SyncMsg, 'id' | 'channel_id'>;

/** What one stream hands over to be delivered: its items, how a message of some of them looks, and their keys. */
export interface DeliverySpec<T> {
  kind: SyncKind;
  items: T[];
  /** The message carrying `chunk`. */
  content(chunk: T[]): SyncContent;
  /** The key a reply names the item by (see refusedKeys). */
  replyKey(item: T): string;
  /** Most items per message. */
  maxItems: number;
  /** Bytes the item adds to a message (its JSON). */
  bytes(item: T): number;
  /** How the delivery trace names the item (posts, reactions, acknowledgements); absent: traced as envelopes only. */
  traced?(item: T): TracedItem;
}

/** An item as the delivery trace keys it: the post it is or belongs to, its own key, its version. */
export interface TracedItem {
  post_id: string;
  item_key: string;
  update_at: number;
}

/** A refused or waiting item, with what the delivery trace needs of it. */
export type RetryItem = { kind: RetryKind; item_key: string; post_id: string; waiting_for?: string; update_at?: number };

const TRACED_KINDS: ReadonlySet<string> = new Set<TraceItemKind>(['post', 'reaction', 'acknowledgement']);

export interface Delivery<T> {
  accepted: T[];
  /** Items the receiver answered for with a per-item error. */
  refused: T[];
  /** Items refused as too large even alone. */
  tooLarge: T[];
  /** Every reply, with the items of its message (the user stream reads users_syncd of membership messages). */
  replies: Array<{ items: T[]; reply: SyncResponse | null }>;
}

/** Consecutive slices of `items`, each of at most `maxItems` and (but for a single large item) `maxBytes`. */
export function chunkItems<T>(items: T[], maxItems: number, maxBytes: number, bytes: (item: T) => number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    const b = bytes(item);
    if (current.length && (current.length >= maxItems || size + b > maxBytes)) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += b;
  }
  if (current.length) chunks.push(current);
  return chunks;
}

/**
 * Sends sharedchannel_sync messages for the sync streams and reads the replies item by item:
 *
 * - a message the receiver refuses as too large (HTTP 413, or an error that says so) is split in halves, down to a
 *   single item; a single item still refused is returned as `tooLarge` (the stream parks it) and the rest goes on;
 * - per-item errors of the SyncResponse say which items were refused (`refusedKeys`);
 * - an OK reply without a payload counts as "all accepted" only where `nullPayloadMeansAccepted` says so;
 * - FAIL and transport errors fail the pass (BullMQ retries the job); a permanent refusal (4xx other than 408/413/429)
 *   ends it as unrecoverable; "channel is no longer shared" emits NO_LONGER_SHARED_EVENT and ends it.
 */
@Injectable()
export class SyncTransport {
  private readonly logger = new Logger(SyncTransport.name);

  constructor(
    private readonly remotes: RemoteClusterService,
    private readonly metrics: SyncMetrics,
    private readonly emitter: EventEmitter2,
    private readonly repo: SyncRepository,
    private readonly trace: DeliveryTrace,
  ) {}

  async deliver<T>(ctx: PassContext, spec: DeliverySpec<T>): Promise<Delivery<T>> {
    const out: Delivery<T> = { accepted: [], refused: [], tooLarge: [], replies: [] };
    const queue = chunkItems(spec.items, spec.maxItems, ctx.maxBytes, spec.bytes);
    const trace = (chunk: T[], event: ItemEvent['event'], msgId: string, sentAt: number, reason?: (item: T) => string | undefined) =>
      this.traceDelivery(ctx, spec, chunk, event, msgId, sentAt, reason);
    while (queue.length) {
      const chunk = queue.shift()!;
      let reply: SyncResponse | null;
      const msgId = newId();
      const sentAt = Date.now();
      try {
        reply = await this.send(ctx, spec.content(chunk), msgId);
      } catch (err) {
        if (!(err instanceof MessageTooLargeError)) {
          trace(chunk, 'failed', msgId, sentAt, () => `the message failed, the pass is retried: ${err instanceof Error ? err.message : String(err)}`);
          throw err;
        }
        const size = chunk.reduce((n, item) => n + spec.bytes(item), 0);
        // Smaller messages for the rest of the pass: the receiver's limit is below this one.
        ctx.maxBytes = Math.max(SYNC_MIN_MESSAGE_BYTES, Math.min(ctx.maxBytes, Math.floor(size / 2)));
        if (chunk.length === 1) {
          trace(chunk, 'too_large', msgId, sentAt, () => `too large for ${ctx.remoteName} even alone (413)`);
          out.tooLarge.push(chunk[0]);
          this.metrics.itemErrors.inc({ remote_id: ctx.remoteId, kind: `${spec.kind}_too_large` });
          continue;
        }
        const half = Math.ceil(chunk.length / 2);
        queue.unshift(chunk.slice(0, half), chunk.slice(half));
        continue;
      }
      out.replies.push({ items: chunk, reply });
      if (!reply) {
        if (!nullPayloadMeansAccepted(spec.kind, ctx.peer)) {
          this.metrics.syncs.inc({ remote_id: ctx.remoteId, result: 'no_payload' });
          trace(chunk, 'failed', msgId, sentAt, () => 'answered OK without a payload: not taken as accepted, the pass is retried');
          throw new SyncSendError(`remote ${ctx.remoteId} answered OK without a payload to a message of ${spec.kind} items: not taken as accepted`);
        }
        trace(chunk, 'accepted', msgId, sentAt);
        out.accepted.push(...chunk);
        continue;
      }
      const refused = refusedKeys(spec.kind, chunk.map(spec.replyKey), reply);
      const refusedItems: T[] = [];
      const acceptedItems: T[] = [];
      for (const item of chunk) (refused.has(spec.replyKey(item)) ? refusedItems : acceptedItems).push(item);
      out.refused.push(...refusedItems);
      out.accepted.push(...acceptedItems);
      trace(acceptedItems, 'accepted', msgId, sentAt);
      const errorsField = `${spec.kind}_errors`;
      trace(refusedItems, 'rejected', msgId, sentAt, (item) => {
        const why = refusalReason(spec.kind, spec.replyKey(item), reply);
        return why ? `refused by ${ctx.remoteName}: ${why}` : `refused by ${ctx.remoteName} (listed in ${errorsField})`;
      });
    }
    return out;
  }

  /**
   * Records items the remote did not take in the retry table (see SyncRepository.recordRetries) and, for posts,
   * reactions and acknowledgements, what became of each in the delivery trace: a retry (when), parked, or waiting.
   */
  async recordRetries(
    ctx: Pick<PassContext, 'channelId' | 'remoteId' | 'backfill'>,
    items: RetryItem[],
    opts: { error: string; now: number; attempt: boolean; park?: boolean; maxAttempts: number },
  ): Promise<RetryState[]> {
    const states = await this.repo.recordRetries(items, { channelId: ctx.channelId, remoteId: ctx.remoteId }, opts);
    // When it was decided (the pass's `now` is when the pass began, before the reply that refused the item).
    const at = Date.now();
    const versions = new Map(items.map((i) => [`${i.kind}:${i.item_key}`, i.update_at ?? 0]));
    this.trace.items(
      states
        .filter((r) => TRACED_KINDS.has(r.kind) && r.post_id)
        .map((r) => ({
          remote_id: ctx.remoteId,
          channel_id: ctx.channelId,
          post_id: r.post_id,
          kind: r.kind as TraceItemKind,
          item_key: r.item_key,
          item_update_at: versions.get(`${r.kind}:${r.item_key}`) ?? 0,
          event: r.parked ? ('parked' as const) : r.waiting_for ? ('waiting' as const) : ('retry' as const),
          attempt: r.attempts,
          next_attempt_at: r.parked || r.waiting_for ? 0 : r.next_attempt_at,
          reason: opts.error,
          backfill: ctx.backfill,
          at,
        })),
    );
    return states;
  }

  /** Posts the remote needs again before items that depend on them (SyncRepository.requestPosts), traced. */
  async requestPosts(ctx: Pick<PassContext, 'channelId' | 'remoteId' | 'backfill'>, postIds: string[], now: number, reason: string): Promise<void> {
    if (!postIds.length) return;
    await this.repo.requestPosts(ctx.channelId, ctx.remoteId, postIds, now);
    const at = Date.now();
    this.trace.items(
      postIds.map((id) => ({
        remote_id: ctx.remoteId,
        channel_id: ctx.channelId,
        post_id: id,
        kind: 'post' as const,
        item_key: id,
        event: 'requested' as const,
        reason,
        backfill: ctx.backfill,
        at,
      })),
    );
  }

  private traceDelivery<T>(
    ctx: PassContext,
    spec: DeliverySpec<T>,
    chunk: T[],
    event: ItemEvent['event'],
    msgId: string,
    sentAt: number,
    reason?: (item: T) => string | undefined,
  ): void {
    if (!spec.traced || !chunk.length || !TRACED_KINDS.has(spec.kind)) return;
    const at = Date.now();
    this.trace.items(
      chunk.map((item) => {
        const t = spec.traced!(item);
        return {
          remote_id: ctx.remoteId,
          channel_id: ctx.channelId,
          post_id: t.post_id,
          kind: spec.kind as TraceItemKind,
          item_key: t.item_key,
          item_update_at: t.update_at,
          event,
          msg_id: msgId,
          sent_at: sentAt,
          reason: reason?.(item),
          backfill: ctx.backfill,
          at,
        };
      }),
    );
  }

  /** One sharedchannel_sync message; its SyncResponse, or null when the peer answered OK without one. */
  async send(ctx: Pick<PassContext, 'channelId' | 'remoteId'>, content: SyncContent, msgId = newId()): Promise<SyncResponse | null> {
    const { channelId, remoteId } = ctx;
    // The SyncMsg and the envelope carrying it share one id: the delivery trace ties items to envelopes by it.
    const msg: SyncMsg = { id: msgId, channel_id: channelId, ...content };
    let response;
    try {
      response = await this.remotes.sendMsg(remoteId, TOPIC_SYNC, msg, { msgId });
    } catch (err) {
      if (isTooLargeRefusal(err)) throw new MessageTooLargeError((err as Error).message);
      if (err instanceof RemoteClusterTransportError && err.permanent) {
        this.metrics.syncs.inc({ remote_id: remoteId, result: 'refused' });
        throw new PeerRefusedError(`remote ${remoteId} refused a sync message for good: ${err.message}`);
      }
      this.metrics.syncs.inc({ remote_id: remoteId, result: 'transport_error' });
      throw new SyncSendError(`sync to ${remoteId} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (response.status !== 'OK') {
      if (response.err.includes(NO_LONGER_SHARED)) {
        this.logger.warn({ channel_id: channelId, remote_id: remoteId }, 'peer says the channel is no longer shared');
        const report: NoLongerSharedReport = { channel_id: channelId, remote_id: remoteId };
        await this.emitter.emitAsync(NO_LONGER_SHARED_EVENT, report);
        throw new NoLongerSharedError(response.err);
      }
      if (isTooLargeText(response.err)) throw new MessageTooLargeError(response.err);
      this.metrics.syncs.inc({ remote_id: remoteId, result: 'fail' });
      throw new SyncSendError(`remote ${remoteId} answered FAIL: ${response.err}`);
    }
    // Anything but an object is no SyncResponse: read as no payload (never as "no errors, all accepted").
    const payload = response.payload;
    return payload && typeof payload === 'object' && !Array.isArray(payload) ? (payload as SyncResponse) : null;
  }
}
