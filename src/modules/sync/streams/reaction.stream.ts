import { Injectable } from '@nestjs/common';
import { ChannelFeed, type ReactionRecord, type SeqCursor } from '../../chat/feed/channel-feed.service.js';
import { SharedChannelStore, type SharedChannelRemoteRecord } from '../../shared-channel/shared-channel-store.service.js';
import { SyncMetrics } from '../sync.metrics.js';
import type { PassContext } from '../sync-pass.js';
import { SyncRepository } from '../sync.repository.js';
import { type SyncContent, SyncTransport } from '../sync-transport.service.js';
import { toWireReaction } from '../sync-wire.js';
import { PostItemStream } from './post-item.stream.js';

export type ReactionItem = ReactionRecord & { key: string };

/** Reactions as state (delete_at for a removal), from the (seq, user_id:post_id:emoji_name) cursor. See PostItemStream. */
@Injectable()
export class ReactionStream extends PostItemStream<ReactionItem> {
  protected readonly kind = 'reaction' as const;

  constructor(
    repo: SyncRepository,
    transport: SyncTransport,
    metrics: SyncMetrics,
    private readonly feed: ChannelFeed,
    private readonly shares: SharedChannelStore,
  ) {
    super(repo, transport, metrics, (ids) => feed.postsByIds(ids), (scr) => shares.findRemote(scr.channel_id, scr.remote_id));
  }

  protected scan(channelId: string, after: SeqCursor, limit: number): Promise<ReactionItem[]> {
    return this.feed.reactionsAfter(channelId, after, limit);
  }

  protected load(channelId: string, keys: string[]): Promise<ReactionItem[]> {
    return this.feed.reactionsByKeys(channelId, keys);
  }

  protected cursorOf(scr: SharedChannelRemoteRecord): SeqCursor {
    return { seq: scr.last_reaction_seq, key: scr.last_reaction_key };
  }

  protected async saveCursor(scr: SharedChannelRemoteRecord, last: ReactionItem): Promise<void> {
    await this.shares.saveCursors(scr.id, { last_reaction_seq: last.seq, last_reaction_key: last.key, update_at: Date.now() });
  }

  protected content(items: ReactionItem[]): SyncContent {
    return { reactions: items.map(toWireReaction) };
  }

  protected wireBytes(item: ReactionItem): number {
    return Buffer.byteLength(JSON.stringify(toWireReaction(item)));
  }

  protected countSent(ctx: PassContext, n: number): void {
    ctx.sent.reactions += n;
  }
}
