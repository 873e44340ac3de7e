import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { newId } from '../../common/ids.js';
import { jsonBytes } from '../../common/json-body.js';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { UserDirectory, type UserRecord } from '../auth/user-directory.service.js';
import { TIMEZONE_MAX_BYTES } from '../chat/chat.constants.js';
import { ChangeEventsService } from '../chat/events/change-events.service.js';
import type { RemoteClusterJson } from '../remote-cluster/remote-cluster.mapper.js';
import type { WireUser } from './wire.types.js';

export const PROP_REMOTE_USERNAME = 'RemoteUsername';
export const PROP_REMOTE_EMAIL = 'RemoteEmail';
export const PROP_ORIGINAL_REMOTE_ID = 'OriginalRemoteId';
const MUNG_ATTEMPTS = 25;
const USERNAME_MAX = 64;

/** Mattermost's mungUsername (sharedchannel/util.go), byte lengths as Go has them. */
export function mungUsername(username: string, remote: string, suffix: string, maxLen = USERNAME_MAX): string {
  let user = username;
  let rem = remote;
  const colon = user.indexOf(':');
  if (colon >= 0) {
    rem = user.slice(colon + 1).replace(/:/g, '');
    user = user.slice(0, colon);
  }
  const sfx = suffix ? `-${suffix}` : '';
  const half = Math.floor(maxLen / 2);
  const extra = Math.max(0, half - (Buffer.byteLength(rem) + 1));
  let userEllipsis = '';
  let remoteEllipsis = '';
  const truncUser = Buffer.byteLength(user) + sfx.length - (half + extra);
  if (truncUser > 0) {
    user = Buffer.from(user).subarray(0, Buffer.byteLength(user) - truncUser - 3).toString();
    userEllipsis = '...';
  }
  const truncRemote = Buffer.byteLength(rem) + 1 - (maxLen - (Buffer.byteLength(user) + userEllipsis.length + sfx.length));
  if (truncRemote > 0) {
    rem = Buffer.from(rem).subarray(0, Buffer.byteLength(rem) - truncRemote - 3).toString();
    remoteEllipsis = '...';
  }
  return `${user}${sfx}${userEllipsis}:${rem}${remoteEllipsis}`;
}

/** Props that are ours alone: never sent to a peer. */
const PRIVATE_PROPS = [PROP_REMOTE_EMAIL];

/**
 * The user as a peer sees it (protocol 6.2, stricter): no password hash, auth data, MFA secret, notification
 * settings or real email ever leaves. The email is a stable placeholder derived from the user id.
 */
export function sanitizeUserForSync(u: UserRecord): WireUser {
  const props: Record<string, string> = {};
  for (const [k, v] of Object.entries(u.props ?? {})) if (!PRIVATE_PROPS.includes(k)) props[k] = v;
  return {
    id: u.id,
    create_at: u.create_at,
    update_at: u.update_at,
    delete_at: u.delete_at,
    username: u.username,
    password: newId(),
    auth_service: '',
    email: `${u.id}@users.invalid`,
    email_verified: true,
    nickname: u.nickname,
    first_name: u.first_name,
    last_name: u.last_name,
    position: u.position,
    roles: 'system_user',
    props,
    locale: u.locale,
    timezone: u.timezone,
    ...(u.remote_id ? { remote_id: u.remote_id } : {}),
    ...(u.is_bot ? { is_bot: true } : {}),
    disable_welcome_email: false,
  };
}

export class RemoteUserError extends Error {}

function cleanString(v: unknown, max: number): string {
  return typeof v === 'string' ? v.slice(0, max) : '';
}

function cleanProps(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, val] of Object.entries(v as Record<string, unknown>).slice(0, 50)) {
      if (typeof val === 'string' && k.length <= 64) out[k] = val.slice(0, 4096);
    }
  }
  return out;
}

/**
 * Synthetic users: the local stand-ins for a peer's users (protocol 6.3). Owned by the connection that sent
 * them (remote_id), munged usernames, a placeholder email from a random UUID, no password; the peer's real
 * username and email stay in props that clients never see.
 */
@Injectable()
export class RemoteUsersService {
  private readonly logger = new Logger(RemoteUsersService.name);

  constructor(
    private readonly users: UserDirectory,
    private readonly events: ChangeEventsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Creates or updates the synthetic user for `incoming` sent by `sender`; refuses users the sender does not own,
   * and users whose props (USER_PROPS_MAX_BYTES) or timezone are larger than a profile may be.
   * A change is announced (CHAT_NOTICE_EVENT user_updated, as Mattermost publishes user_updated) once written.
   */
  async upsert(sender: RemoteClusterJson, incoming: WireUser): Promise<{ user: UserRecord; changed: boolean }> {
    if (!incoming || typeof incoming.id !== 'string' || !/^[a-z0-9]{26}$/.test(incoming.id)) throw new RemoteUserError('invalid user id');
    const maxProps = this.config.limits.userPropsMaxBytes;
    if (jsonBytes(incoming.props ?? null) > maxProps) throw new RemoteUserError(`props of user ${incoming.id} are larger than ${maxProps} bytes`);
    if (jsonBytes(incoming.timezone ?? null) > TIMEZONE_MAX_BYTES) throw new RemoteUserError(`timezone of user ${incoming.id} is larger than ${TIMEZONE_MAX_BYTES} bytes`);
    const username = cleanString(incoming.username, 64).toLowerCase();
    if (!/^[a-z0-9.\-_:]+$/.test(username)) throw new RemoteUserError(`invalid username for user ${incoming.id}`);
    const existing = await this.users.find(incoming.id);
    if (existing && existing.remote_id !== sender.remote_id) throw new RemoteUserError(`remoteID mismatch for user ${incoming.id}`);
    const result = existing ? await this.update(sender, existing, incoming, username) : { user: await this.create(sender, incoming, username), changed: true };
    if (result.changed) this.events.notify({ kind: 'user_updated', user_id: result.user.id, at: result.user.update_at });
    return result;
  }

  private profileFields(incoming: WireUser) {
    return {
      nickname: cleanString(incoming.nickname, 64),
      first_name: cleanString(incoming.first_name, 64),
      last_name: cleanString(incoming.last_name, 64),
      position: cleanString(incoming.position, 128),
      locale: cleanString(incoming.locale, 5) || 'en',
      timezone: cleanProps(incoming.timezone),
      delete_at: typeof incoming.delete_at === 'number' && incoming.delete_at > 0 ? incoming.delete_at : 0,
      is_bot: incoming.is_bot === true,
    };
  }

  private async create(sender: RemoteClusterJson, incoming: WireUser, username: string): Promise<UserRecord> {
    const props = cleanProps(incoming.props);
    delete props[PROP_REMOTE_EMAIL];
    props[PROP_ORIGINAL_REMOTE_ID] ||= incoming.remote_id || sender.remote_id;
    props[PROP_REMOTE_USERNAME] = username.includes(':') ? (props[PROP_REMOTE_USERNAME] || username.split(':')[0]) : username;
    props[PROP_REMOTE_EMAIL] = cleanString(incoming.email, 128);
    const now = Date.now();
    for (let i = 1; i <= MUNG_ATTEMPTS; i++) {
      const row = {
        id: incoming.id,
        create_at: typeof incoming.create_at === 'number' && incoming.create_at > 0 ? incoming.create_at : now,
        update_at: now,
        username: mungUsername(username, sender.name, i > 1 ? String(i) : '').toLowerCase(),
        password: '',
        auth_data: null,
        auth_service: '',
        email: `${randomUUID()}@remote.invalid`,
        email_verified: true,
        roles: 'system_user',
        props,
        notify_props: {},
        last_password_update: 0,
        last_picture_update: 0,
        failed_attempts: 0,
        mfa_active: false,
        mfa_secret: '',
        remote_id: sender.remote_id,
        ...this.profileFields(incoming),
      };
      if (await this.users.insertIfFree(row as never)) return (await this.users.find(incoming.id))!;
      const raced = await this.users.find(incoming.id);
      if (raced) {
        if (raced.remote_id !== sender.remote_id) throw new RemoteUserError(`remoteID mismatch for user ${incoming.id}`);
        return raced;
      }
    }
    throw new RemoteUserError(`no free username for ${username} after ${MUNG_ATTEMPTS} attempts`);
  }

  private async update(sender: RemoteClusterJson, existing: UserRecord, incoming: WireUser, username: string): Promise<{ user: UserRecord; changed: boolean }> {
    const props = { ...cleanProps(incoming.props) };
    delete props[PROP_ORIGINAL_REMOTE_ID];
    // Our own bookkeeping props survive; the peer's real username/email update only when they come from the
    // user's origin (no ':' in them).
    props[PROP_ORIGINAL_REMOTE_ID] = existing.props?.[PROP_ORIGINAL_REMOTE_ID] ?? sender.remote_id;
    props[PROP_REMOTE_USERNAME] = !username.includes(':') ? username : (existing.props?.[PROP_REMOTE_USERNAME] ?? username);
    const email = cleanString(incoming.email, 128);
    props[PROP_REMOTE_EMAIL] = email && !email.includes(':') && !email.endsWith('.invalid') ? email : (existing.props?.[PROP_REMOTE_EMAIL] ?? '');
    const fields = { ...this.profileFields(incoming), props };
    const differs = Object.entries(fields).some(([k, v]) => JSON.stringify((existing as Record<string, unknown>)[k]) !== JSON.stringify(v));
    const expectedPrefix = mungUsername(username, sender.name, '').split(':')[0];
    const usernameStale = !existing.username.startsWith(expectedPrefix.replace(/\.\.\.$/, ''));
    if (!differs && !usernameStale) return { user: existing, changed: false };
    const now = Math.max(Date.now(), existing.update_at + 1);
    for (let i = 1; i <= MUNG_ATTEMPTS; i++) {
      const newName = usernameStale ? mungUsername(username, sender.name, i > 1 ? String(i) : '').toLowerCase() : existing.username;
      if (usernameStale) {
        const holder = await this.users.findByUsername(newName);
        if (holder && holder.id !== existing.id) continue;
      }
      try {
        await this.users.overwriteNow(existing.id, { ...fields, username: newName, update_at: now });
        return { user: (await this.users.find(existing.id))!, changed: true };
      } catch (err) {
        if (!usernameStale) throw err;
        this.logger.debug({ err }, 'username taken while re-munging, trying the next suffix');
      }
    }
    throw new RemoteUserError(`no free username for ${username}`);
  }
}
