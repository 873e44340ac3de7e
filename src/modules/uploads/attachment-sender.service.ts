import { Readable } from 'node:stream';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { newId } from '../../common/ids.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import type { FileInfoRecord } from '../chat/feed/channel-feed.service.js';
import { FILE_STORE, type FileStore } from '../chat/files/file-store.js';
import { FilesService } from '../chat/files/files.service.js';
import { RemoteClusterTransportError } from '../remote-cluster/remote-cluster.client.js';
import { RemoteClusterService } from '../remote-cluster/remote-cluster.service.js';
import { SharedChannelStore, type SharedChannelAttachmentRow } from '../shared-channel/shared-channel-store.service.js';
import { TOPIC_UPLOAD } from '../shared-channel/wire.types.js';
import { parseSavedSession, UPLOAD_TYPE_ATTACHMENT, type WireUploadSession } from './dto/upload-session.dto.js';

/** A post about to be sent, as far as its files are concerned. */
export interface PostWithFiles {
  id: string;
  user_id: string;
  channel_id: string;
  file_ids: string[] | null;
}

export interface AttachmentsResult {
  /** Files the remote now holds. */
  sent: number;
  /** Files the remote refused (too large for it, say): their posts go anyway, as Mattermost's do. */
  refused: number;
}

/** The transfer did not finish (the peer went away, or answered 204): the pass fails and is retried. */
export class AttachmentIncompleteError extends Error {}

/**
 * The sending side of attachments (protocol 7, improved): before a pass sends posts, every file of theirs the
 * remote does not have (no shared_channel_attachments row, or the file changed since) goes out, once per remote.
 * The session id is kept in that row until the transfer completes, so a transfer cut off half-way asks the remote
 * for the same session and streams only the rest, from the remote's offset.
 */
@Injectable()
export class AttachmentSender {
  private readonly logger = new Logger(AttachmentSender.name);
  private readonly files: Counter<'remote_id' | 'result'>;
  private readonly resumed: Counter<'remote_id'>;

  constructor(
    private readonly filesService: FilesService,
    private readonly remotes: RemoteClusterService,
    private readonly shares: SharedChannelStore,
    @Inject(FILE_STORE) private readonly store: FileStore,
    metrics: MetricsService,
  ) {
    this.files = metrics.counter('shared_channels_attachments_sent_total', 'Attachments pushed to remotes, by result', ['remote_id', 'result']);
    this.resumed = metrics.counter('shared_channels_attachment_resumes_total', 'Attachment transfers resumed at a non-zero offset', ['remote_id']);
  }

  async sendForPosts(remoteId: string, posts: PostWithFiles[]): Promise<AttachmentsResult> {
    const result: AttachmentsResult = { sent: 0, refused: 0 };
    const wanted = posts.flatMap((p) => (p.file_ids ?? []).map((fileId) => ({ post: p, fileId })));
    if (!wanted.length) return result;
    const infos = new Map((await this.filesService.findInfos(wanted.map((w) => w.fileId))).map((f) => [f.id, f]));
    const rows = new Map((await this.shares.findAttachments(remoteId, [...infos.keys()])).map((r) => [r.file_id, r]));
    for (const { post, fileId } of wanted) {
      const info = infos.get(fileId);
      // Only the post's own, live files, and never a file back to the remote it came from.
      if (!info || info.post_id !== post.id || info.channel_id !== post.channel_id || info.delete_at || info.remote_id === remoteId) continue;
      const row = rows.get(fileId);
      if (row && row.last_sync_at >= info.update_at) continue;
      if (await this.sendOne(remoteId, post, info, row ?? null)) result.sent++;
      else result.refused++;
    }
    return result;
  }

  /** true when the remote has the file; false when it refused it for good. */
  private async sendOne(remoteId: string, post: PostWithFiles, info: FileInfoRecord, row: SharedChannelAttachmentRow | null): Promise<boolean> {
    // last_sync_at 0 marks a transfer in progress: same session. A finished one whose file changed starts anew.
    const uploadId = row && !row.last_sync_at && row.upload_id ? row.upload_id : newId();
    const now = Date.now();
    const tracking: SharedChannelAttachmentRow = {
      id: row?.id ?? newId(),
      file_id: info.id,
      remote_id: remoteId,
      create_at: row?.create_at ?? now,
      last_sync_at: 0,
      upload_id: uploadId,
    };
    if (!row || row.upload_id !== uploadId || row.last_sync_at) await this.shares.upsertAttachment(tracking);

    const session: WireUploadSession = {
      id: uploadId,
      type: UPLOAD_TYPE_ATTACHMENT,
      create_at: now,
      user_id: post.user_id,
      channel_id: post.channel_id,
      filename: info.name,
      file_size: info.size,
      file_offset: 0,
      remote_id: remoteId,
      req_file_id: info.id,
    };
    const response = await this.remotes.sendMsg(remoteId, TOPIC_UPLOAD, session);
    if (response.status !== 'OK') {
      await this.settleRefused(tracking, info);
      this.files.inc({ remote_id: remoteId, result: 'refused' });
      this.logger.warn({ remote_id: remoteId, file_id: info.id, err: response.err }, 'remote refused an attachment');
      return false;
    }
    const saved = parseSavedSession(response.payload, session);
    if (!saved) throw new AttachmentIncompleteError(`remote ${remoteId} answered sharedchannel_upload for ${info.id} without a usable session`);
    const offset = saved.file_offset;
    if (offset > 0) {
      this.resumed.inc({ remote_id: remoteId });
      this.logger.log({ remote_id: remoteId, file_id: info.id, offset, size: info.size }, 'resuming an attachment transfer');
    }
    const length = info.size - offset;
    let reply;
    try {
      reply = await this.remotes.sendUpload(remoteId, uploadId, {
        open: async () => (length > 0 ? this.store.read(info.path, { start: offset }) : Readable.from([])),
        length,
      });
    } catch (err) {
      if (err instanceof RemoteClusterTransportError && err.permanent) {
        await this.settleRefused(tracking, info);
        this.files.inc({ remote_id: remoteId, result: 'refused' });
        this.logger.warn({ remote_id: remoteId, file_id: info.id, err: err.message }, 'remote refused the bytes of an attachment');
        return false;
      }
      throw err;
    }
    if (!reply.complete) throw new AttachmentIncompleteError(`remote ${remoteId} holds only part of ${info.id} after the upload`);
    await this.shares.upsertAttachment({ ...tracking, last_sync_at: Math.max(Date.now(), info.update_at) });
    this.files.inc({ remote_id: remoteId, result: 'ok' });
    return true;
  }

  /**
   * A refusal for good (the file is larger than the remote accepts, say) settles this version of the file for that
   * remote, as a transfer does: a retried pass of its post does not offer it again, and only a changed file goes anew.
   */
  private async settleRefused(tracking: SharedChannelAttachmentRow, info: FileInfoRecord): Promise<void> {
    await this.shares.upsertAttachment({ ...tracking, upload_id: '', last_sync_at: Math.max(Date.now(), info.update_at) });
  }
}
