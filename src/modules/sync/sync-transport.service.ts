import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { UnrecoverableError } from 'bullmq';
import { newId } from '../../common/ids.js';
import { RemoteClusterTransportError } from '../remote-cluster/remote-cluster.client.js';
import { RemoteClusterService } from '../remote-cluster/remote-cluster.service.js';
import { NO_LONGER_SHARED_EVENT, type NoLongerSharedReport } from '../shared-channel/shared-channel-events.service.js';
import { NO_LONGER_SHARED, type SyncMsg, type SyncResponse, TOPIC_SYNC } from '../shared-channel/wire.types.js';
import { isTooLargeRefusal, isTooLargeText, nullPayloadMeansAccepted, refusedKeys, type SyncKind } from './peer-replies.js';
import { SYNC_MIN_MESSAGE_BYTES } from './sync.constants.js';
import { SyncMetrics } from './sync.metrics.js';
import type { PassContext } from './sync-pass.js';

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
}

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
  ) {}

  async deliver<T>(ctx: PassContext, spec: DeliverySpec<T>): Promise<Delivery<T>> {
    const out: Delivery<T> = { accepted: [], refused: [], tooLarge: [], replies: [] };
    const queue = chunkItems(spec.items, spec.maxItems, ctx.maxBytes, spec.bytes);
    while (queue.length) {
      const chunk = queue.shift()!;
      let reply: SyncResponse | null;
      try {
        reply = await this.send(ctx, spec.content(chunk));
      } catch (err) {
        if (!(err instanceof MessageTooLargeError)) throw err;
        const size = chunk.reduce((n, item) => n + spec.bytes(item), 0);
        // Smaller messages for the rest of the pass: the receiver's limit is below this one.
        ctx.maxBytes = Math.max(SYNC_MIN_MESSAGE_BYTES, Math.min(ctx.maxBytes, Math.floor(size / 2)));
        if (chunk.length === 1) {
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
          throw new SyncSendError(`remote ${ctx.remoteId} answered OK without a payload to a message of ${spec.kind} items: not taken as accepted`);
        }
        out.accepted.push(...chunk);
        continue;
      }
      const refused = refusedKeys(spec.kind, chunk.map(spec.replyKey), reply);
      for (const item of chunk) (refused.has(spec.replyKey(item)) ? out.refused : out.accepted).push(item);
    }
    return out;
  }

  /** One sharedchannel_sync message; its SyncResponse, or null when the peer answered OK without one. */
  async send(ctx: Pick<PassContext, 'channelId' | 'remoteId'>, content: SyncContent): Promise<SyncResponse | null> {
    const { channelId, remoteId } = ctx;
    const msg: SyncMsg = { id: newId(), channel_id: channelId, ...content };
    let response;
    try {
      response = await this.remotes.sendMsg(remoteId, TOPIC_SYNC, msg);
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
