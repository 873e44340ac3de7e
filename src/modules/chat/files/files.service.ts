import { extname } from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppError } from '../../../common/app-error.js';
import { isValidId, newId } from '../../../common/ids.js';
import { APP_CONFIG, type AppConfig } from '../../../config/app-config.js';
import { TransactionRunner } from '../../../database/transaction-runner.js';
import type { AuthContext } from '../../auth/auth-context.js';
import { ChannelAccess } from '../channels/channel-access.service.js';
import { ChatErrors } from '../chat.errors.js';
import { ChangeKind, type ChangeEvent } from '../events/change-event.types.js';
import { ChangeEventsService } from '../events/change-events.service.js';
import { FileInfoEntity } from './file-info.entity.js';
import { toFileInfoJson, type FileInfoJson } from './file-info.mapper.js';
import { FileInfoRepository } from './file-info.repository.js';
import { FILE_STORE, type FileStore, FileTooLargeError } from './file-store.js';
import { parseMultipart } from './multipart.js';

/** Mattermost accepts up to 10 files per post; the same cap applies per upload request. */
const MAX_FILES_PER_REQUEST = 10;

export interface UploadResult {
  file_infos: FileInfoJson[];
  client_ids: string[];
}

/** Types by extension for files that arrive without one (peers' uploads carry only a name). */
const MIME_BY_EXTENSION: Record<string, string> = {
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', svg: 'image/svg+xml',
  pdf: 'application/pdf', txt: 'text/plain', csv: 'text/csv', json: 'application/json', zip: 'application/zip',
  gz: 'application/gzip', mp4: 'video/mp4', mp3: 'audio/mpeg', doc: 'application/msword', xls: 'application/vnd.ms-excel',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/** A file whose bytes a peer pushed, already stored under `key`. */
export interface ImportedFile {
  id: string;
  creator_id: string;
  channel_id: string;
  name: string;
  key: string;
  size: number;
  sha256: string;
  remote_id: string;
}

export function fileKey(fileId: string, name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(-100) || 'file';
  return `files/${fileId.slice(0, 2)}/${fileId}/${safe}`;
}

@Injectable()
export class FilesService {
  private readonly logger = new Logger(FilesService.name);

  constructor(
    private readonly files: FileInfoRepository,
    private readonly access: ChannelAccess,
    private readonly tx: TransactionRunner,
    private readonly events: ChangeEventsService,
    @Inject(FILE_STORE) private readonly store: FileStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * POST /api/v4/files. Each part is streamed to storage as it arrives and counted against MAX_FILE_SIZE;
   * nothing is recorded until the whole request has been read and the caller may post in the channel.
   * On any failure every stored byte of this request is removed.
   */
  async upload(auth: AuthContext, req: IncomingMessage, channelIdFromQuery?: string): Promise<UploadResult> {
    const maxBytes = this.config.files.maxFileSize;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (channelIdFromQuery !== undefined) {
      if (!isValidId(channelIdFromQuery)) throw AppError.invalidParam('channel_id');
      await this.access.writable(auth, channelIdFromQuery);
    }
    if (declared > maxBytes * MAX_FILES_PER_REQUEST + 1024 * 1024) {
      req.resume();
      throw ChatErrors.fileTooLarge(maxBytes);
    }
    const stored: Array<{ id: string; key: string; name: string; mime: string; size: number; sha256: string }> = [];
    try {
      const fields = await parseMultipart(req, { files: MAX_FILES_PER_REQUEST, fields: 20, fieldSize: 64 * 1024 }, async (file) => {
        if (file.field !== 'files') {
          file.stream.resume();
          return;
        }
        const id = newId();
        const name = (file.filename || 'file').slice(0, 256);
        const key = fileKey(id, name);
        try {
          const obj = await this.store.write(key, file.stream, maxBytes);
          stored.push({ id, key, name, mime: file.mimeType || 'application/octet-stream', size: obj.size, sha256: obj.sha256 });
        } catch (err) {
          if (err instanceof FileTooLargeError) throw ChatErrors.fileTooLarge(maxBytes);
          throw err;
        }
      });
      const channelId = channelIdFromQuery ?? fields.channel_id?.[0];
      if (!channelId || !isValidId(channelId)) throw AppError.invalidParam('channel_id');
      if (channelIdFromQuery === undefined) await this.access.writable(auth, channelId);
      if (!stored.length) throw ChatErrors.noFile();
      const now = Date.now();
      const infos: FileInfoEntity[] = [];
      for (const s of stored) {
        const info = Object.assign(new FileInfoEntity(), {
          id: s.id,
          creator_id: auth.userId,
          post_id: '',
          channel_id: channelId,
          create_at: now,
          update_at: now,
          delete_at: 0,
          path: s.key,
          name: s.name,
          extension: extname(s.name).replace(/^\./, '').toLowerCase().slice(0, 64),
          size: s.size,
          mime_type: s.mime.slice(0, 256),
          width: 0,
          height: 0,
          has_preview_image: false,
          content_hash: s.sha256,
          remote_id: null,
        });
        await this.files.insert(info);
        infos.push(info);
      }
      return { file_infos: infos.map(toFileInfoJson), client_ids: fields.client_ids ?? [] };
    } catch (err) {
      await Promise.all(stored.map((s) => this.store.remove(s.key).catch((e: unknown) => this.logger.warn({ err: e }, 'cleanup failed'))));
      throw err;
    }
  }

  /** A file the caller may read: attached to, or uploaded into, a channel they can read. */
  async readableInfo(auth: AuthContext, fileId: string): Promise<FileInfoEntity> {
    const info = await this.files.findById(fileId);
    if (!info || info.delete_at) throw ChatErrors.fileNotFound();
    await this.access.readable(auth, info.channel_id);
    return info;
  }

  openContent(info: FileInfoEntity): Promise<Readable> {
    return this.store.read(info.path);
  }

  infosForPosts(postIds: string[]): Promise<FileInfoEntity[]> {
    return this.files.findForPosts(postIds);
  }

  /** File infos by id, whatever their state (the sync engine decides what to send). */
  findInfos(ids: string[]): Promise<FileInfoEntity[]> {
    return this.files.findByIds([...new Set(ids)]);
  }

  findInfo(id: string): Promise<FileInfoEntity | null> {
    return this.files.findById(id);
  }

  /**
   * Records a file a peer pushed (its id is the sender's, so posts' file_ids resolve here too). A file sent again
   * because it changed replaces the bytes of the one with that id. If the post naming it is already here, the file
   * is attached to it at once; otherwise the post attaches it when it arrives.
   */
  async importRemoteFile(file: ImportedFile): Promise<FileInfoEntity> {
    const now = Date.now();
    const extension = extname(file.name).replace(/^\./, '').toLowerCase().slice(0, 64);
    const previous = await this.files.findById(file.id);
    const info = Object.assign(new FileInfoEntity(), {
      id: file.id,
      creator_id: file.creator_id,
      post_id: previous?.post_id ?? '',
      channel_id: file.channel_id,
      create_at: previous?.create_at ?? now,
      update_at: now,
      delete_at: 0,
      path: file.key,
      name: file.name.slice(0, 256),
      extension,
      size: file.size,
      mime_type: MIME_BY_EXTENSION[extension] ?? 'application/octet-stream',
      width: 0,
      height: 0,
      has_preview_image: false,
      content_hash: file.sha256,
      remote_id: file.remote_id,
    });
    // A file can complete after the post that names it (Mattermost 11 may send a post before its attachments): it
    // is attached to that post then, and the post counts as changed, so clients and relays see it with its file.
    const { postId, event } = await this.tx.run(async (tx): Promise<{ postId: string; event?: ChangeEvent }> => {
      await this.files.upsertImported(tx, info);
      if (info.post_id) return { postId: info.post_id };
      const post = await this.files.attachToReferencingPost(tx, info.id, now);
      if (!post) return { postId: '' };
      const event = await this.events.record(
        tx,
        { kind: ChangeKind.PostEdited, channel_id: info.channel_id, origin_remote_id: file.remote_id, post_id: post.post_id, root_id: post.root_id },
        now,
      );
      return { postId: post.post_id, event };
    });
    if (event) this.events.publish(event);
    if (previous && previous.path !== file.key) await this.store.remove(previous.path).catch((err: unknown) => this.logger.warn({ err }, 'cleanup failed'));
    return { ...info, post_id: postId };
  }
}
