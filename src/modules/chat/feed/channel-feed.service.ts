import { Injectable } from '@nestjs/common';
import type { FileInfoEntity } from '../files/file-info.entity.js';
import type { PostAcknowledgementEntity } from '../posts/post-acknowledgement.entity.js';
import type { PostEntity } from '../posts/post.entity.js';
import type { ReactionEntity } from '../posts/reaction.entity.js';
import type { StatusEntity } from '../users/status.entity.js';
import { ChannelFeedRepository, type SeqCursor } from './channel-feed.repository.js';

export type { SeqCursor };
export type { StatusValue } from '../users/status.entity.js';

/** The chat core's records as other modules see them (STYLE: no module imports another's entities). */
export type PostRecord = PostEntity;
export type ReactionRecord = ReactionEntity;
export type AckRecord = PostAcknowledgementEntity;
export type StatusRecord = StatusEntity;
export type FileInfoRecord = FileInfoEntity;

/**
 * What other modules may read of a channel's content by change sequence (the sync engine's sender, membership
 * sync). The chat module exports this service, never its repository (STYLE: modules meet through services).
 */
@Injectable()
export class ChannelFeed {
  constructor(private readonly repo: ChannelFeedRepository) {}

  /** The (seq, key) cursor just past every post, reaction or acknowledgement of the channel written before `since`. */
  cursorBefore(table: 'posts' | 'reactions' | 'post_acknowledgements', channelId: string, since: number) {
    return this.repo.cursorBefore(table, channelId, since);
  }

  postsAfter(channelId: string, after: SeqCursor, limit: number) {
    return this.repo.postsAfter(channelId, after, limit);
  }

  postsByIds(ids: string[]) {
    return this.repo.postsByIds(ids);
  }

  reactionsAfter(channelId: string, after: SeqCursor, limit: number) {
    return this.repo.reactionsAfter(channelId, after, limit);
  }

  acksAfter(channelId: string, after: SeqCursor, limit: number) {
    return this.repo.acksAfter(channelId, after, limit);
  }

  /** Reactions by key (user_id:post_id:emoji_name), removed ones included. */
  reactionsByKeys(channelId: string, keys: string[]) {
    return this.repo.reactionsByKeys(channelId, keys);
  }

  /** Acknowledgements by key (user_id:post_id), removed ones included. */
  acksByKeys(channelId: string, keys: string[]) {
    return this.repo.acksByKeys(channelId, keys);
  }

  /** Active reactions on these posts stamped up to `maxSeq`, not from `exceptRemote` (a history backfill's). */
  reactionsOfPosts(channelId: string, postIds: string[], maxSeq: number, exceptRemote: string) {
    return this.repo.reactionsOfPosts(channelId, postIds, maxSeq, exceptRemote);
  }

  /** Acknowledgements on these posts stamped up to `maxSeq`, not from `exceptRemote` (a history backfill's). */
  acksOfPosts(channelId: string, postIds: string[], maxSeq: number, exceptRemote: string) {
    return this.repo.acksOfPosts(channelId, postIds, maxSeq, exceptRemote);
  }

  /** The channel's change sequence now (everything stamped up to it has committed). */
  channelSeq(channelId: string) {
    return this.repo.channelSeq(channelId);
  }

  userEventsAfter(channelId: string, seq: number, limit: number) {
    return this.repo.userEventsAfter(channelId, seq, limit);
  }

  memberEventsAfter(channelId: string, seq: number, limit: number) {
    return this.repo.memberEventsAfter(channelId, seq, limit);
  }

  lastUserJournalSeq() {
    return this.repo.lastUserJournalSeq();
  }

  lastChannelUpdateActor(channelId: string) {
    return this.repo.lastChannelUpdateActor(channelId);
  }

  channelMemberIds(channelId: string, userIds: string[]) {
    return this.repo.channelMemberIds(channelId, userIds);
  }

  teamMemberIds(teamId: string, userIds: string[]) {
    return this.repo.teamMemberIds(teamId, userIds);
  }
}
