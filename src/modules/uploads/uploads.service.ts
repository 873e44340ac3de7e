import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import type { Redis } from 'ioredis';
import { acquireLease } from '../../redis/redis-lease.js';
import { REDIS_CLIENT } from '../../redis/redis.module.js';
import { UserDirectory } from '../auth/user-directory.service.js';
import { FILE_STORE, type FileStore, FileTooLargeError } from '../chat/files/file-store.js';
import { toFileInfoJson, type FileInfoJson } from '../chat/files/file-info.mapper.js';
import { fileKey, FilesService } from '../chat/files/files.service.js';
import { parseMultipart } from '../chat/files/multipart.js';
import type { RemoteClusterMsg } from '../remote-cluster/dto/frame.dto.js';
import type { RemoteClusterJson } from '../remote-cluster/remote-cluster.mapper.js';
import { TopicRegistry } from '../remote-cluster/topic-registry.service.js';
import { SharedChannelStore } from '../shared-channel/shared-channel-store.service.js';
import { TOPIC_UPLOAD } from '../shared-channel/wire.types.js';
import { parseUploadSession, UPLOAD_TYPE_ATTACHMENT, type WireUploadSession } from './dto/upload-session.dto.js';
import { UploadSessionEntity } from './upload-session.entity.js';
import { UploadRejected, UploadsErrors } from './uploads.errors.js';
import { UploadsRepository } from './uploads.repository.js';

/** Time-to-live of the per-session writer lease (renewed every third of it while a body streams in). */
const UPLOAD_LEASE_MS = 30_000;

/** A session (and the partial file of one never finished) is forgotten this long after it was created. */
export const UPLOAD_SESSION_TTL_MS = 7 * 24 * 3600 * 1000;
const EXPIRED_PER_CALL = 100;

export function partialKey(uploadId: string): string {
  return `uploads/${uploadId}`;
}

export type UploadDataResult = { complete: false; offset: number } | { complete: true; info: FileInfoJson };

function toWireSession(s: UploadSessionEntity): WireUploadSession {
  return {
    id: s.id,
    type: s.type,
    create_at: s.create_at,
    user_id: s.user_id,
    channel_id: s.channel_id,
    filename: s.filename,
    file_size: s.file_size,
    file_offset: s.file_offset,
    remote_id: s.remote_id,
    req_file_id: s.req_file_id,
  };
}

/**
 * The receiving side of attachments (protocol 7): sharedchannel_upload creates (or finds again) the session, the
 * upload endpoint appends the streamed bytes at the session's offset. The bytes on disk are the offset: a transfer
 * cut off half-way resumes where its last flushed byte ended, not at zero as Mattermost does. The finished file gets
 * the sender's file id, so the post's file_ids resolve here.
 */
@Injectable()
export class UploadsService implements OnModuleInit {
  private readonly logger = new Logger(UploadsService.name);
  /** Sessions whose bytes are arriving on this replica: a second request for one is refused, not interleaved. */
  private readonly bytesReceived: Counter<'remote_id'>;
  private readonly filesReceived: Counter<'remote_id'>;

  constructor(
    private readonly topics: TopicRegistry,
    private readonly repo: UploadsRepository,
    private readonly shares: SharedChannelStore,
    private readonly files: FilesService,
    private readonly users: UserDirectory,
    @Inject(FILE_STORE) private readonly store: FileStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    metrics: MetricsService,
  ) {
    this.bytesReceived = metrics.counter('shared_channels_upload_bytes_received_total', 'Attachment bytes received from remotes and stored', ['remote_id']);
    this.filesReceived = metrics.counter('shared_channels_files_received_total', 'Attachments received from remotes, complete', ['remote_id']);
  }

  onModuleInit(): void {
    this.topics.register(TOPIC_UPLOAD, (rc, msg: RemoteClusterMsg) => this.createSession(rc, msg.payload));
  }

  /** sharedchannel_upload: the saved session (with the offset to continue from when it exists already). */
  async createSession(sender: RemoteClusterJson, payload: unknown): Promise<WireUploadSession> {
    const s = parseUploadSession(payload);
    if (s.type !== UPLOAD_TYPE_ATTACHMENT) throw new UploadRejected(`upload session ${s.id}: only attachments may be uploaded to a shared channel, not "${s.type}"`);
    const share = await this.shares.findShare(s.channel_id!);
    const scr = share ? await this.shares.findRemote(s.channel_id!, sender.remote_id) : null;
    if (!share || !scr || scr.delete_at) throw new UploadRejected(`upload session ${s.id}: channel ${s.channel_id} is not shared with remote ${sender.remote_id}`);
    const max = this.config.files.maxFileSize;
    if (s.file_size > max) {
      throw new UploadRejected(`upload session ${s.id}: file of ${s.file_size} bytes is larger than this server's MAX_FILE_SIZE of ${max} bytes`);
    }

    const existing = await this.repo.findById(s.id);
    if (existing) return toWireSession(await this.resumable(sender, existing, s));

    const author = await this.users.find(s.user_id);
    if (!author || author.remote_id !== sender.remote_id) throw new UploadRejected(`upload session ${s.id}: user ${s.user_id} is not owned by the sender`);
    const file = await this.files.findInfo(s.req_file_id);
    if (file && file.remote_id !== sender.remote_id) throw new UploadRejected(`upload session ${s.id}: file ${s.req_file_id} exists here and is not the sender's`);

    const session = Object.assign(new UploadSessionEntity(), {
      id: s.id,
      type: UPLOAD_TYPE_ATTACHMENT,
      create_at: Date.now(),
      user_id: s.user_id,
      channel_id: s.channel_id,
      filename: s.filename.trim(),
      file_size: s.file_size,
      file_offset: 0,
      remote_id: sender.remote_id,
      req_file_id: s.req_file_id,
      path: partialKey(s.id),
      complete_at: 0,
    });
    if (!(await this.repo.insertIfAbsent(session))) {
      const raced = await this.repo.findById(s.id);
      if (!raced) throw new Error(`upload session ${s.id} vanished`);
      return toWireSession(await this.resumable(sender, raced, s));
    }
    this.logger.log({ remote_id: sender.remote_id, upload_id: s.id, file_id: s.req_file_id, size: s.file_size }, 'upload session created');
    await this.forgetExpired().catch((err: unknown) => this.logger.warn({ err }, 'could not remove expired upload sessions'));
    return toWireSession(session);
  }

  /** The same session asked for again: it must describe the same file; its offset is what we hold of it. */
  private async resumable(sender: RemoteClusterJson, existing: UploadSessionEntity, s: WireUploadSession): Promise<UploadSessionEntity> {
    if (existing.remote_id !== sender.remote_id) throw new UploadRejected(`upload session ${s.id} belongs to another remote`);
    if (existing.req_file_id !== s.req_file_id || existing.file_size !== s.file_size || existing.channel_id !== s.channel_id) {
      throw new UploadRejected(`upload session ${s.id} exists for another file`);
    }
    if (existing.complete_at) return existing;
    const offset = Math.min((await this.store.size(existing.path)) ?? 0, existing.file_size);
    if (offset !== existing.file_offset) await this.repo.setOffset(existing.id, offset);
    return { ...existing, file_offset: offset };
  }

  /**
   * POST /api/v4/remotecluster/upload/{id}: the body (raw, or the first file part of a multipart form) is appended
   * at the session's offset. Complete ⇒ the FileInfo; otherwise the new offset (the endpoint answers 204).
   */
  async receiveData(callerId: string, uploadId: string, req: IncomingMessage): Promise<UploadDataResult> {
    const session = await this.repo.findById(uploadId);
    const refuse = (err: Error): never => {
      req.resume();
      throw err;
    };
    if (!session) return refuse(UploadsErrors.sessionNotFound());
    if (session.remote_id !== callerId) return refuse(UploadsErrors.remoteMismatch());
    if (session.type !== UPLOAD_TYPE_ATTACHMENT) return refuse(UploadsErrors.invalidType());
    if (session.complete_at) {
      // Sent again after the reply was lost: the answer is the same.
      req.resume();
      const info = await this.files.findInfo(session.req_file_id);
      if (!info) throw UploadsErrors.sessionNotFound();
      return { complete: true, info: toFileInfoJson(info) };
    }
    if (session.file_size > this.config.files.maxFileSize) return refuse(UploadsErrors.tooLarge(session.file_size, this.config.files.maxFileSize));
    // One writer per session across every replica (they may share FILES_DIR): a lease in Redis, renewed while
    // the body streams in.
    const lease = await acquireLease(this.redis, `upload-busy:${uploadId}`, UPLOAD_LEASE_MS);
    if (!lease) return refuse(UploadsErrors.busy());
    try {
      const offset = Math.min((await this.store.size(session.path)) ?? 0, session.file_size);
      const remaining = session.file_size - offset;
      const declared = Number(req.headers['content-length']);
      const multipart = /^multipart\/form-data/i.test(req.headers['content-type'] ?? '');
      const max = this.config.files.maxFileSize;
      if (Number.isFinite(declared) && declared > max + (multipart ? 64 * 1024 : 0)) return refuse(UploadsErrors.tooLarge(declared, max));
      if (!multipart && Number.isFinite(declared) && declared > remaining) return refuse(UploadsErrors.tooMuchData(session.file_size));

      let size = offset;
      // The hash of what this request appended: the whole file's when it came in one piece.
      let appendedHash = '';
      try {
        if (multipart) {
          let taken = false;
          await parseMultipart(req, { files: 1, fields: 10, fieldSize: 1024 }, async (file) => {
            if (taken) return void file.stream.resume();
            taken = true;
            ({ size, sha256: appendedHash } = await this.store.append(session.path, file.stream, offset, remaining));
          });
        } else {
          ({ size, sha256: appendedHash } = await this.store.append(session.path, req, offset, remaining));
        }
      } catch (err) {
        // Keep what arrived: the sender resumes from it.
        size = (await this.store.size(session.path)) ?? offset;
        await this.repo.setOffset(session.id, Math.min(size, session.file_size));
        this.bytesReceived.inc({ remote_id: callerId }, Math.max(0, size - offset));
        this.logger.warn({ remote_id: callerId, upload_id: uploadId, offset: size, err: (err as Error).message }, 'upload interrupted');
        if (err instanceof FileTooLargeError) throw UploadsErrors.tooMuchData(session.file_size);
        // The sender went away mid-body: an expected event (its next attempt resumes), not a server error.
        if (req.destroyed || req.readableAborted) throw UploadsErrors.interrupted(size, session.file_size);
        throw err;
      }
      this.bytesReceived.inc({ remote_id: callerId }, Math.max(0, size - offset));
      if (size < session.file_size) {
        await this.repo.setOffset(session.id, size);
        return { complete: false, offset: size };
      }
      return { complete: true, info: toFileInfoJson(await this.complete(session, size, offset === 0 && appendedHash ? appendedHash : null)) };
    } finally {
      await lease.release();
    }
  }

  /** All bytes are here: the file moves to its final place and gets its FileInfo with the sender's id. */
  private async complete(session: UploadSessionEntity, size: number, sha256OfWhole: string | null) {
    // A transfer that came in pieces is hashed from the stored file.
    const sha256 = sha256OfWhole ?? (await this.hashOf(session.path));
    const key = fileKey(session.req_file_id, session.filename);
    await this.store.move(session.path, key);
    const info = await this.files.importRemoteFile({
      id: session.req_file_id,
      creator_id: session.user_id,
      channel_id: session.channel_id,
      name: session.filename,
      key,
      size,
      sha256,
      remote_id: session.remote_id,
    });
    await this.repo.markComplete(session.id, size, Date.now());
    this.filesReceived.inc({ remote_id: session.remote_id });
    this.logger.log({ remote_id: session.remote_id, file_id: info.id, size, post_id: info.post_id }, 'attachment received');
    return info;
  }

  /**
   * Sessions older than UPLOAD_SESSION_TTL_MS go, with the partial bytes of those never finished (their sender gave
   * up: a file that changed gets a new session). Done a batch at a time whenever a session is created, so nothing
   * needs a schedule of its own.
   */
  private async forgetExpired(): Promise<void> {
    const expired = await this.repo.findExpired(Date.now() - UPLOAD_SESSION_TTL_MS, EXPIRED_PER_CALL);
    if (!expired.length) return;
    for (const s of expired) if (!s.complete_at) await this.store.remove(s.path);
    await this.repo.delete(expired.map((s) => s.id));
    this.logger.log({ sessions: expired.length }, 'expired upload sessions removed');
  }

  /** SHA-256 of a stored object, streamed (the transfer may have come in several pieces). */
  private async hashOf(key: string): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of await this.store.read(key)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }
}
