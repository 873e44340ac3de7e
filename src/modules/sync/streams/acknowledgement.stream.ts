import { Injectable } from '@nestjs/common';
import { type AckRecord, ChannelFeed, type SeqCursor } from '../../chat/feed/channel-feed.service.js';
import { SharedChannelStore, type SharedChannelRemoteRecord } from '../../shared-channel/shared-channel-store.service.js';
import { SyncMetrics } from '../sync.metrics.js';
import type { PassContext } from '../sync-pass.js';
import { SyncRepository } from '../sync.repository.js';
import { type SyncContent, SyncTransport } from '../sync-transport.service.js';
import { toWireAck } from '../sync-wire.js';
import { PostItemStream } from './post-item.stream.js';

export type AckItem = AckRecord & { key: string };

/** Acknowledgements as state (acknowledged_at 0 for a removal), from the (seq, user_id:post_id) cursor. See PostItemStream. */
@Injectable()
export class AcknowledgementStream extends PostItemStream<AckItem> {
  protected readonly kind = 'acknowledgement' as const;

  constructor(
    repo: SyncRepository,
    transport: SyncTransport,
    metrics: SyncMetrics,
    private readonly feed: ChannelFeed,
    private readonly shares: SharedChannelStore,
  ) {
    super(repo, transport, metrics, (ids) => feed.postsByIds(ids), (scr) => shares.findRemote(scr.channel_id, scr.remote_id));
  }

  protected scan(channelId: string, after: SeqCursor, limit: number): Promise<AckItem[]> {
    return this.feed.acksAfter(channelId, after, limit);
  }

  protected load(channelId: string, keys: string[]): Promise<AckItem[]> {
    return this.feed.acksByKeys(channelId, keys);
  }

  protected cursorOf(scr: SharedChannelRemoteRecord): SeqCursor {
    return { seq: scr.last_ack_seq, key: scr.last_ack_key };
  }

  protected async saveCursor(scr: SharedChannelRemoteRecord, last: AckItem): Promise<void> {
    await this.shares.saveCursors(scr.id, { last_ack_seq: last.seq, last_ack_key: last.key, update_at: Date.now() });
  }

  protected content(items: AckItem[]): SyncContent {
    return { acknowledgements: items.map(toWireAck) };
  }

  protected wireBytes(item: AckItem): number {
    return Buffer.byteLength(JSON.stringify(toWireAck(item)));
  }

  protected countSent(ctx: PassContext, n: number): void {
    ctx.sent.acks += n;
  }
}
