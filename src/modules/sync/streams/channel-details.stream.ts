import { Injectable } from '@nestjs/common';
import { UserDirectory } from '../../auth/user-directory.service.js';
import { ChannelsService } from '../../chat/channels/channels.service.js';
import { ChannelFeed } from '../../chat/feed/channel-feed.service.js';
import { RESPONSE_STATUS_OK } from '../../remote-cluster/dto/frame.dto.js';
import { RemoteClusterTransportError } from '../../remote-cluster/remote-cluster.client.js';
import { RemoteClusterService } from '../../remote-cluster/remote-cluster.service.js';
import { SharedChannelStore } from '../../shared-channel/shared-channel-store.service.js';
import { type ChannelDetailsMsg, TOPIC_CHANNEL_DETAILS } from '../../shared-channel/wire.types.js';
import { SyncMetrics } from '../sync.metrics.js';
import type { PassContext, SyncStream } from '../sync-pass.js';
import { PeerRefusedError, SyncSendError } from '../sync-transport.service.js';

export interface ChannelDetailsCollected {
  msg: ChannelDetailsMsg;
  /** The channel's update_at: the remote's cursor moves to it. */
  version: number;
}

/** delivered: the remote answered; passed_over: a Mattermost peer (it does not know the topic); null: nothing to send. */
export type ChannelDetailsOutcome = 'delivered' | 'passed_over' | null;

/**
 * A shared channel's display name, header and purpose, from its home to a remote (mmfed_channel_details `update`;
 * see ChannelDetailsService): when the channel's update_at is past the remote's cursor (last_details_update_at), the
 * details as they are now go with that version and the name of who changed them last. Whatever the remote answers
 * (applied, stale, refused) moves the cursor; a FAIL or a transport error fails the pass, which is retried. A
 * Mattermost peer is passed over (it would answer OK without a payload, which counts the same).
 */
@Injectable()
export class ChannelDetailsStream implements SyncStream<void, ChannelDetailsCollected | null, ChannelDetailsOutcome> {
  constructor(
    private readonly channels: ChannelsService,
    private readonly feed: ChannelFeed,
    private readonly users: UserDirectory,
    private readonly remotes: RemoteClusterService,
    private readonly shares: SharedChannelStore,
    private readonly metrics: SyncMetrics,
  ) {}

  async collect(ctx: PassContext): Promise<ChannelDetailsCollected | null> {
    if (!ctx.share?.home) return null;
    const channel = await this.channels.findById(ctx.channelId);
    if (!channel || channel.update_at <= ctx.scr.last_details_update_at) return null;
    const actorId = (await this.feed.lastChannelUpdateActor(channel.id)) ?? channel.creator_id;
    const actor = actorId ? await this.users.find(actorId) : null;
    return {
      version: channel.update_at,
      msg: {
        kind: 'update',
        channel_id: channel.id,
        display_name: channel.display_name,
        header: channel.header,
        purpose: channel.purpose,
        update_at: channel.update_at,
        user_id: actor?.id ?? channel.creator_id,
        username: actor?.username ?? '',
      },
    };
  }

  async send(ctx: PassContext, c: ChannelDetailsCollected | null): Promise<ChannelDetailsOutcome> {
    if (!c) return null;
    if (ctx.peer === 'mattermost') return 'passed_over';
    let reply;
    try {
      reply = await this.remotes.sendMsg(ctx.remoteId, TOPIC_CHANNEL_DETAILS, c.msg);
    } catch (err) {
      if (err instanceof RemoteClusterTransportError && err.permanent) {
        throw new PeerRefusedError(`remote ${ctx.remoteId} refused the channel details for good: ${err.message}`);
      }
      throw new SyncSendError(`channel details to ${ctx.remoteId} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (reply.status !== RESPONSE_STATUS_OK) throw new SyncSendError(`remote ${ctx.remoteId} answered FAIL to the channel details: ${reply.err}`);
    if (!reply.payload) return 'passed_over';
    this.metrics.itemsSent.inc({ remote_id: ctx.remoteId, kind: 'channel_details' });
    return 'delivered';
  }

  async advance(ctx: PassContext, c: ChannelDetailsCollected | null, outcome: ChannelDetailsOutcome): Promise<void> {
    if (c && outcome) await this.shares.saveCursors(ctx.scr.id, { last_details_update_at: c.version });
  }
}
