import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import { jsonBytes } from '../../../common/json-body.js';
import { APP_CONFIG, type AppConfig } from '../../../config/app-config.js';
import { TransactionRunner } from '../../../database/transaction-runner.js';
import type { AuthContext } from '../../auth/auth-context.js';
import { AuthErrors } from '../../auth/auth.errors.js';
import { isSystemAdmin } from '../../auth/permissions.js';
import { UserDirectory, type UserRecord } from '../../auth/user-directory.service.js';
import { TIMEZONE_MAX_BYTES } from '../chat.constants.js';
import { ChatErrors } from '../chat.errors.js';
import { ChangeKind, LOCAL_ORIGIN, type ChangeOrigin } from '../events/change-event.types.js';
import { ChangeEventsService } from '../events/change-events.service.js';
import { FILE_STORE, type FileStore, FileTooLargeError } from '../files/file-store.js';
import { parseMultipart } from '../files/multipart.js';
import { defaultAvatarPng, sniffImageType } from './default-avatar.js';
import { StatusEntity, type StatusValue } from './status.entity.js';
import { StatusRepository } from './status.repository.js';
import type { PatchUserDto } from './users.dto.js';

export function profileImageKey(userId: string): string {
  return `users/${userId}/profile`;
}

function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const code = e.code ?? e.driverError?.code;
  const name = e.constraint ?? e.driverError?.constraint;
  return code === '23505' && name === constraint;
}

@Injectable()
export class UsersProfileService {
  constructor(
    private readonly users: UserDirectory,
    private readonly statuses: StatusRepository,
    private readonly events: ChangeEventsService,
    private readonly tx: TransactionRunner,
    @Inject(FILE_STORE) private readonly store: FileStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private assertSelfOrAdmin(auth: AuthContext, userId: string): void {
    if (userId !== auth.userId && !isSystemAdmin(auth.roles)) throw AuthErrors.forbidden('edit_other_users');
  }

  /**
   * props and timezone are string maps (Mattermost's StringMap), props of at most USER_PROPS_MAX_BYTES and a
   * timezone of at most TIMEZONE_MAX_BYTES of JSON: a profile every peer can take.
   */
  private assertProfileMaps(dto: PatchUserDto): void {
    for (const [name, map, max] of [
      ['props', dto.props, this.config.limits.userPropsMaxBytes],
      ['timezone', dto.timezone, TIMEZONE_MAX_BYTES],
    ] as const) {
      if (map === undefined) continue;
      if (Object.values(map).some((v) => typeof v !== 'string')) throw ChatErrors.userPropsInvalid(`${name} values must be strings`);
      const bytes = jsonBytes(map);
      if (bytes > max) throw ChatErrors.userPropsInvalid(`${name} are ${bytes} bytes of JSON; the limit is ${max}`);
    }
  }

  get(userId: string): Promise<UserRecord> {
    return this.users.get(userId);
  }

  byIds(ids: string[]): Promise<UserRecord[]> {
    return this.users.findMany(ids);
  }

  byUsernames(names: string[]): Promise<UserRecord[]> {
    return this.users.findByUsernames(names);
  }

  async patch(auth: AuthContext, userId: string, dto: PatchUserDto, origin: ChangeOrigin = LOCAL_ORIGIN): Promise<UserRecord> {
    this.assertSelfOrAdmin(auth, userId);
    this.assertProfileMaps(dto);
    const patch = { ...dto, username: dto.username?.toLowerCase(), email: dto.email?.toLowerCase() };
    try {
      const result = await this.tx.run(async (tx) => {
        const updated = await this.users.patch(tx, userId, patch);
        if (!updated) return { user: await this.users.get(userId), event: undefined };
        const event = await this.events.record(tx, { kind: ChangeKind.UserUpdated, channel_id: null, origin_remote_id: origin.remoteId, user_id: userId }, updated.update_at);
        return { user: updated, event };
      });
      if (result.event) this.events.publish(result.event);
      return result.user;
    } catch (err) {
      if (isUniqueViolation(err, 'uq_users_username')) throw AuthErrors.usernameTaken();
      if (isUniqueViolation(err, 'uq_users_email')) throw AuthErrors.emailTaken();
      throw err;
    }
  }

  /** The stored picture, or the generated default; the type is read from the bytes themselves. */
  async image(userId: string): Promise<{ type: string; body: Readable; etag: string }> {
    const user = await this.users.get(userId);
    const etag = `"${user.id}-${user.last_picture_update}"`;
    if (user.last_picture_update > 0 && (await this.store.size(profileImageKey(userId))) !== null) {
      const stream = await this.store.read(profileImageKey(userId));
      const first = await new Promise<Buffer>((resolve, reject) => {
        stream.once('readable', () => resolve((stream.read() as Buffer | null) ?? Buffer.alloc(0)));
        stream.once('error', reject);
      });
      const rest = Readable.from((async function* () {
        yield first;
        for await (const c of stream) yield c as Buffer;
      })());
      return { type: sniffImageType(first) ?? 'application/octet-stream', body: rest, etag };
    }
    return { type: 'image/png', body: Readable.from([defaultAvatarPng(userId)]), etag };
  }

  /** POST /users/{id}/image: multipart part `image`, streamed, checked to be an image, then swapped in atomically. */
  async setImage(auth: AuthContext, userId: string, req: IncomingMessage): Promise<void> {
    this.assertSelfOrAdmin(auth, userId);
    await this.users.get(userId);
    await this.storeImage(userId, req, LOCAL_ORIGIN);
  }

  /** Also used for images pushed by a peer for a user it owns. */
  async storeImage(userId: string, req: IncomingMessage, origin: ChangeOrigin): Promise<void> {
    let stored = false;
    await parseMultipart(req, { files: 1, fields: 5, fieldSize: 1024 }, async (file) => {
      if (file.field !== 'image') {
        file.stream.resume();
        return;
      }
      try {
        await this.store.write(profileImageKey(userId), file.stream, this.config.files.maxFileSize, {
          checkHead: (head) => (sniffImageType(head) ? undefined : ChatErrors.invalidImage('not a PNG, JPEG, GIF or WebP image')),
        });
      } catch (err) {
        if (err instanceof FileTooLargeError) throw ChatErrors.fileTooLarge(this.config.files.maxFileSize);
        throw err;
      }
      stored = true;
    });
    if (!stored) throw ChatErrors.noFile();
    const event = await this.tx.run(async (tx) => {
      const user = await this.users.markPictureUpdated(tx, userId);
      return this.events.record(tx, { kind: ChangeKind.UserPictureUpdated, channel_id: null, origin_remote_id: origin.remoteId, user_id: userId }, user.last_picture_update);
    });
    this.events.publish(event);
  }

  async status(userId: string): Promise<StatusEntity> {
    await this.users.get(userId);
    return (await this.statuses.findByUserId(userId)) ?? defaultStatus(userId);
  }

  async statusesOf(userIds: string[]): Promise<StatusEntity[]> {
    const rows = await this.statuses.findByUserIds(userIds);
    return userIds.map((id) => rows.find((r) => r.user_id === id) ?? defaultStatus(id));
  }

  async setStatus(
    auth: AuthContext,
    userId: string,
    status: StatusValue,
    dndEndTime = 0,
    origin: ChangeOrigin = LOCAL_ORIGIN,
  ): Promise<StatusEntity> {
    this.assertSelfOrAdmin(auth, userId);
    await this.users.get(userId);
    const result = await this.tx.run(async (tx) => {
      const current = (await this.statuses.findForUpdate(tx, userId)) ?? defaultStatus(userId);
      const now = Math.max(Date.now(), current.update_at + 1);
      const dnd = status === 'dnd' ? dndEndTime : 0;
      if (current.status === status && current.dnd_end_time === dnd && current.manual) return { status: current, event: undefined };
      const next = Object.assign(new StatusEntity(), {
        user_id: userId,
        status,
        manual: true,
        last_activity_at: now,
        dnd_end_time: dnd,
        prev_status: current.status === status ? current.prev_status : current.status,
        update_at: now,
      });
      await this.statuses.upsert(tx, next);
      const event = await this.events.record(tx, { kind: ChangeKind.StatusChanged, channel_id: null, origin_remote_id: origin.remoteId, user_id: userId }, now);
      return { status: next, event };
    });
    if (result.event) this.events.publish(result.event);
    return result.status;
  }
}

export function defaultStatus(userId: string): StatusEntity {
  return Object.assign(new StatusEntity(), {
    user_id: userId,
    status: 'offline',
    manual: false,
    last_activity_at: 0,
    dnd_end_time: 0,
    prev_status: '',
    update_at: 0,
  });
}

export function toStatusJson(s: StatusEntity) {
  return { user_id: s.user_id, status: s.status, manual: s.manual, last_activity_at: s.last_activity_at, dnd_end_time: s.dnd_end_time };
}
