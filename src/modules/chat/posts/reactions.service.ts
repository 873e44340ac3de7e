import { Injectable } from '@nestjs/common';
import { TransactionRunner } from '../../../database/transaction-runner.js';
import type { AuthContext } from '../../auth/auth-context.js';
import { ChannelAccess } from '../channels/channel-access.service.js';
import { EMOJI_NAME_RE } from '../chat.constants.js';
import { ChatErrors } from '../chat.errors.js';
import { ChangeKind, LOCAL_ORIGIN, type ChangeOrigin } from '../events/change-event.types.js';
import { ChangeEventsService } from '../events/change-events.service.js';
import { PostAcknowledgementEntity } from './post-acknowledgement.entity.js';
import { PostRepository } from './post.repository.js';
import { ReactionEntity } from './reaction.entity.js';
import { PostsService } from './posts.service.js';

/**
 * Reactions and acknowledgements carry state (delete_at / acknowledged_at), never toggles: setting the state a
 * row already has changes nothing and emits nothing, so add, remove and re-add converge everywhere.
 */
@Injectable()
export class ReactionsService {
  constructor(
    private readonly posts: PostRepository,
    private readonly postsService: PostsService,
    private readonly access: ChannelAccess,
    private readonly events: ChangeEventsService,
    private readonly tx: TransactionRunner,
  ) {}

  async add(auth: AuthContext, userId: string, postId: string, emoji: string, origin: ChangeOrigin = LOCAL_ORIGIN): Promise<ReactionEntity> {
    if (userId !== auth.userId) throw ChatErrors.reactAsOther();
    if (!EMOJI_NAME_RE.test(emoji)) throw ChatErrors.invalidEmoji();
    const post = await this.postsService.readablePost(auth, postId);
    await this.access.writable(auth, post.channel_id, 'react', origin);
    const result = await this.tx.run(async (tx) => {
      const existing = await this.posts.findReactionForUpdate(tx, userId, postId, emoji);
      if (existing && !existing.delete_at) return { reaction: existing, event: undefined };
      const now = Math.max(Date.now(), (existing?.update_at ?? 0) + 1);
      const reaction = Object.assign(new ReactionEntity(), {
        user_id: userId,
        post_id: postId,
        emoji_name: emoji,
        create_at: now,
        update_at: now,
        delete_at: 0,
        remote_id: origin.remoteId,
        channel_id: post.channel_id,
      });
      await this.posts.upsertReaction(tx, reaction);
      const event = await this.events.record(
        tx,
        { kind: ChangeKind.ReactionAdded, channel_id: post.channel_id, origin_remote_id: origin.remoteId, post_id: postId, user_id: userId, emoji_name: emoji },
        now,
      );
      return { reaction, event };
    });
    if (result.event) this.events.publish(result.event);
    return result.reaction;
  }

  async remove(auth: AuthContext, userId: string, postId: string, emoji: string, origin: ChangeOrigin = LOCAL_ORIGIN): Promise<void> {
    if (userId !== auth.userId) throw ChatErrors.reactAsOther();
    if (!EMOJI_NAME_RE.test(emoji)) throw ChatErrors.invalidEmoji();
    const post = await this.postsService.readablePost(auth, postId);
    await this.access.writable(auth, post.channel_id, 'react', origin);
    const event = await this.tx.run(async (tx) => {
      const existing = await this.posts.findReactionForUpdate(tx, userId, postId, emoji);
      if (!existing || existing.delete_at) return undefined;
      const now = Math.max(Date.now(), existing.update_at + 1);
      await this.posts.upsertReaction(tx, Object.assign(existing, { update_at: now, delete_at: now, remote_id: origin.remoteId }));
      return this.events.record(
        tx,
        { kind: ChangeKind.ReactionRemoved, channel_id: post.channel_id, origin_remote_id: origin.remoteId, post_id: postId, user_id: userId, emoji_name: emoji },
        now,
      );
    });
    if (event) this.events.publish(event);
  }

  /** The stored rows (active or removed) of these reactions, for listeners that describe a change. */
  reactionRows(keys: Array<{ user_id: string; post_id: string; emoji_name: string }>): Promise<ReactionEntity[]> {
    return this.posts.findReactions(keys);
  }

  /** The stored rows (acknowledged or not) of these acknowledgements. */
  ackRows(keys: Array<{ user_id: string; post_id: string }>): Promise<PostAcknowledgementEntity[]> {
    return this.posts.findAcks(keys);
  }

  async list(auth: AuthContext, postId: string): Promise<ReactionEntity[]> {
    await this.postsService.readablePost(auth, postId);
    return this.posts.activeReactionsFor([postId]);
  }

  async acknowledge(auth: AuthContext, userId: string, postId: string, origin: ChangeOrigin = LOCAL_ORIGIN): Promise<PostAcknowledgementEntity> {
    if (userId !== auth.userId) throw ChatErrors.reactAsOther();
    const post = await this.postsService.readablePost(auth, postId);
    await this.access.writable(auth, post.channel_id, 'react', origin);
    const result = await this.tx.run(async (tx) => {
      const existing = await this.posts.findAckForUpdate(tx, userId, postId);
      if (existing && existing.acknowledged_at) return { ack: existing, event: undefined };
      const now = Math.max(Date.now(), (existing?.update_at ?? 0) + 1);
      const ack = Object.assign(new PostAcknowledgementEntity(), {
        user_id: userId,
        post_id: postId,
        acknowledged_at: now,
        update_at: now,
        channel_id: post.channel_id,
        remote_id: origin.remoteId,
      });
      await this.posts.upsertAck(tx, ack);
      const event = await this.events.record(
        tx,
        { kind: ChangeKind.AckAdded, channel_id: post.channel_id, origin_remote_id: origin.remoteId, post_id: postId, user_id: userId },
        now,
      );
      return { ack, event };
    });
    if (result.event) this.events.publish(result.event);
    return result.ack;
  }

  async unacknowledge(auth: AuthContext, userId: string, postId: string, origin: ChangeOrigin = LOCAL_ORIGIN): Promise<void> {
    if (userId !== auth.userId) throw ChatErrors.reactAsOther();
    const post = await this.postsService.readablePost(auth, postId);
    await this.access.writable(auth, post.channel_id, 'react', origin);
    const event = await this.tx.run(async (tx) => {
      const existing = await this.posts.findAckForUpdate(tx, userId, postId);
      if (!existing || !existing.acknowledged_at) return undefined;
      const now = Math.max(Date.now(), existing.update_at + 1);
      await this.posts.upsertAck(tx, Object.assign(existing, { acknowledged_at: 0, update_at: now, remote_id: origin.remoteId }));
      return this.events.record(
        tx,
        { kind: ChangeKind.AckRemoved, channel_id: post.channel_id, origin_remote_id: origin.remoteId, post_id: postId, user_id: userId },
        now,
      );
    });
    if (event) this.events.publish(event);
  }
}
