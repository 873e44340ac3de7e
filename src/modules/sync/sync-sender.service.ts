import { Inject, Injectable } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { ChannelFeed } from '../chat/feed/channel-feed.service.js';
import { RemoteClusterService } from '../remote-cluster/remote-cluster.service.js';
import { SharedChannelStore, type SharedChannelRemoteRecord } from '../shared-channel/shared-channel-store.service.js';
import { SYNC_MAX_MESSAGE_BYTES } from './sync.constants.js';
import { SyncMetrics } from './sync.metrics.js';
import { noneSent, type PassContext, type SentCounts, type SyncStream } from './sync-pass.js';
import { SyncRepository } from './sync.repository.js';
import { AcknowledgementStream } from './streams/acknowledgement.stream.js';
import { AttachmentStream } from './streams/attachment.stream.js';
import { ChannelDetailsStream } from './streams/channel-details.stream.js';
import { MembershipStream } from './streams/membership.stream.js';
import { PostStream } from './streams/post.stream.js';
import { ProfileImageStream } from './streams/profile-image.stream.js';
import { ReactionStream } from './streams/reaction.stream.js';
import { StatusStream } from './streams/status.stream.js';
import { UserStream } from './streams/user.stream.js';

export { NoLongerSharedError, PeerRefusedError, SyncSendError } from './sync-transport.service.js';

export interface SyncPassResult {
  /** More is waiting (a batch was full, or something became due during the pass): run again at once. */
  more: boolean;
  /** The remote is offline: nothing was sent; the backlog flows when it comes back. */
  offline?: boolean;
  sent: SentCounts;
}

/**
 * One sync pass of one shared channel to one remote (protocol section 5.3, with our cursors). Every kind is a stream
 * (./streams): collected from its cursor and its due retries, then sent in Mattermost's order (users, memberships,
 * attachments, posts with their mention transforms, acknowledgements, reactions, statuses, profile images), each
 * cursor advanced only past items the receiver took or that are recorded to be retried (sync_item_retries): never
 * past one that is neither. What a refusal or a dependency holds back never holds back the rest of the channel.
 * Never sends an item back to the remote it came from.
 */
@Injectable()
export class SyncSender {
  constructor(
    private readonly shares: SharedChannelStore,
    private readonly feed: ChannelFeed,
    private readonly remotes: RemoteClusterService,
    private readonly repo: SyncRepository,
    private readonly metrics: SyncMetrics,
    private readonly users: UserStream,
    private readonly memberships: MembershipStream,
    private readonly attachments: AttachmentStream,
    private readonly posts: PostStream,
    private readonly acks: AcknowledgementStream,
    private readonly reactions: ReactionStream,
    private readonly statuses: StatusStream,
    private readonly images: ProfileImageStream,
    private readonly details: ChannelDetailsStream,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async run(channelId: string, remoteId: string): Promise<SyncPassResult> {
    const opened = await this.open(channelId, remoteId);
    if (!('ctx' in opened)) return opened;
    const { ctx } = opened;

    // Collect: posts first (reactions and acknowledgements go only as far as the post cursor), then the users all
    // of it refers to.
    const posts = await this.posts.collect(ctx);
    const postCursor = { postCursorSeq: posts.cursor.seq };
    const [reactions, acks, statuses, members] = await Promise.all([
      this.reactions.collect(ctx, postCursor),
      this.acks.collect(ctx, postCursor),
      this.statuses.collect(ctx),
      this.memberships.collect(ctx),
    ]);
    const users = await this.users.collect(ctx, {
      referenced: [...posts.userIds, ...reactions.userIds, ...acks.userIds, ...statuses.userIds],
    });

    // Send, in the protocol's order; each stream advances its own cursor.
    await this.step(this.users, ctx, users);
    await this.step(this.memberships, ctx, members);
    await this.step(this.attachments, ctx, await this.attachments.collect(ctx, { posts: posts.posts }));
    await this.step(this.posts, ctx, posts);
    await this.step(this.acks, ctx, acks);
    await this.step(this.reactions, ctx, reactions);
    await this.step(this.statuses, ctx, statuses);
    await this.step(this.images, ctx, await this.images.collect(ctx, { users: [...users.referenced, ...(members?.addedUsers ?? [])] }));
    // Not a sharedchannel_sync kind: the home's channel details, on their own topic, after the content.
    await this.step(this.details, ctx, await this.details.collect(ctx));

    this.metrics.syncs.inc({ remote_id: remoteId, result: 'ok' });
    const more = ctx.again || posts.full || reactions.full || acks.full || statuses.full || (members?.full ?? false);
    return { more, sent: ctx.sent };
  }

  private async step<C, O>(stream: SyncStream<never, C, O>, ctx: PassContext, collected: C): Promise<void> {
    await stream.advance(ctx, collected, await stream.send(ctx, collected));
  }

  /** The pass's context, or why there is no pass (not shared, offline). `backfill`: a history backfill's batch. */
  async open(channelId: string, remoteId: string, opts: { backfill?: boolean } = {}): Promise<{ ctx: PassContext } | SyncPassResult> {
    const [found, remote] = await Promise.all([this.shares.findRemote(channelId, remoteId), this.remotes.getRemote(remoteId)]);
    if (!found || found.delete_at || !found.is_invite_confirmed) return { more: false, sent: noneSent() };
    if (!remote || remote.delete_at) throw new UnrecoverableError(`remote ${remoteId} is gone`);
    if (!this.remotes.isOnline(remote)) return { more: false, offline: true, sent: noneSent() };
    const [scr, share, peer] = await Promise.all([this.initialiseCursors(found), this.shares.findShare(channelId), this.repo.peerKind(remoteId)]);
    return {
      ctx: {
        channelId,
        remoteId,
        remoteName: remote.name,
        peer,
        scr,
        share,
        now: Date.now(),
        maxAttempts: this.config.sync.postMaxAttempts,
        maxBytes: SYNC_MAX_MESSAGE_BYTES,
        sent: noneSent(),
        postsNotTaken: new Set(),
        postsTaken: new Set(),
        again: false,
        backfill: opts.backfill === true,
      },
    };
  }

  /**
   * Seq cursors start where Mattermost's timestamp cursors say the share began (invite time): history before the
   * invite is not sent by live sync, as Mattermost does (a backfill sends it when asked); everything changed since is.
   * first_post_seq keeps where the post cursor started, for what the remote should hold (reactions on older posts are
   * not sent unless a backfill handed their post over; the consistency check).
   */
  async initialiseCursors(scr: SharedChannelRemoteRecord): Promise<SharedChannelRemoteRecord> {
    if (scr.last_post_seq || scr.last_reaction_seq || scr.last_ack_seq || scr.last_user_event_seq) return scr;
    const since = scr.last_post_update_at || scr.create_at;
    // Past every row at the boundary seq, key included: a cursor (seq, '') would let the newest post (reaction,
    // acknowledgement) from before the share through as if it were new.
    const [posts, reactions, acks] = await Promise.all([
      this.feed.cursorBefore('posts', scr.channel_id, since),
      this.feed.cursorBefore('reactions', scr.channel_id, since),
      this.feed.cursorBefore('post_acknowledgements', scr.channel_id, since),
    ]);
    const fields = {
      last_post_seq: posts.seq,
      last_post_seq_id: posts.key,
      first_post_seq: posts.seq,
      last_reaction_seq: reactions.seq,
      last_reaction_key: reactions.key,
      last_ack_seq: acks.seq,
      last_ack_key: acks.key,
      last_user_event_seq: await this.feed.lastUserJournalSeq(),
    };
    // A channel with no change at all still needs a non-zero marker so this runs once.
    if (!fields.last_post_seq && !fields.last_reaction_seq && !fields.last_ack_seq && !fields.last_user_event_seq) return scr;
    // A backfill may set them up at the same moment (another job, another replica): the first write stands.
    if (await this.shares.initialiseCursors(scr.id, fields)) return { ...scr, ...fields };
    return (await this.shares.findRemote(scr.channel_id, scr.remote_id)) ?? scr;
  }
}
