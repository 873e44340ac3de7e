import { Injectable } from '@nestjs/common';
import type { PostRecord } from '../../chat/feed/channel-feed.service.js';
import { AttachmentSender } from '../../uploads/attachment-sender.service.js';
import { SyncMetrics } from '../sync.metrics.js';
import type { PassContext, SyncStream } from '../sync-pass.js';
import { transfer } from './transfer.js';

export interface AttachmentsInput {
  /** The posts this pass is about to send (fresh and retried). */
  posts: PostRecord[];
}

/**
 * Attachments (protocol 7, 5.6 step 3), before the posts that name them. Which files go, and the record of what the
 * remote holds (shared_channel_attachments, resumable sessions), are AttachmentSender's: a file goes once per remote,
 * again only if it changed. A file does not need its post on the receiver: it is kept there unattached, and attached
 * the moment the post arrives (now, or on the post's retry after a refusal), so an attachment never waits and is never
 * lost to its post's order. A file the remote refuses (too large for it) is counted and its post goes anyway; a
 * transfer cut off fails the pass, which resumes it.
 */
@Injectable()
export class AttachmentStream implements SyncStream<AttachmentsInput, PostRecord[], void> {
  constructor(
    private readonly attachments: AttachmentSender,
    private readonly metrics: SyncMetrics,
  ) {}

  async collect(_ctx: PassContext, input: AttachmentsInput): Promise<PostRecord[]> {
    return input.posts.filter((p) => p.file_ids?.length);
  }

  async send(ctx: PassContext, posts: PostRecord[]): Promise<void> {
    if (!posts.length) return;
    const files = await transfer(this.metrics, ctx.remoteId, () => this.attachments.sendForPosts(ctx.remoteId, posts));
    ctx.sent.files += files.sent;
    if (files.refused) this.metrics.itemErrors.inc({ remote_id: ctx.remoteId, kind: 'attachment' }, files.refused);
  }

  async advance(): Promise<void> {
    // AttachmentSender records each file as the remote confirms it.
  }
}
