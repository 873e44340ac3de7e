import { isValidId } from '../../../common/ids.js';
import { CHANNEL_NAME_MAX, GROUP_CHANNEL_MAX, GROUP_CHANNEL_MIN } from '../../chat/chat.constants.js';
import { runeLength } from '../../chat/posts/posts.service.js';
import { ChannelShareRejected } from '../shared-channel.errors.js';
import type { ChannelInviteMsg, ChannelUnshareMsg, WireUser } from '../wire.types.js';

/**
 * The sharedchannel_invite and sharedchannel_unshare payloads, decoded as Go's json.Unmarshal would (absent or
 * null is the zero value, a wrong JSON type is an error) and then checked against what the receiver must be able
 * to store. Every refusal says what was wrong; none of them touches the database.
 */

type Json = Record<string, unknown>;

const DISPLAY_NAME_MAX = 64;
const PURPOSE_MAX = 250;
const HEADER_MAX = 1024;
/** Mattermost's channel-name characters (model.IsValidChannelIdentifier), lowercase as Mattermost stores them. */
const CHANNEL_NAME_RE = /^[a-z0-9_-]+$/;
const USERNAME_RE = /^[a-z0-9.\-_:]{1,64}$/;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field(obj: Json, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function str(obj: Json, key: string, what: string): string {
  const v = field(obj, key);
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new ChannelShareRejected(`invalid ${what}: ${key} must be a string`);
  return v;
}

function bool(obj: Json, key: string, what: string): boolean {
  const v = field(obj, key);
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new ChannelShareRejected(`invalid ${what}: ${key} must be a boolean`);
  return v;
}

function array(obj: Json, key: string, what: string): unknown[] | null {
  const v = field(obj, key);
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) throw new ChannelShareRejected(`invalid ${what}: ${key} must be an array`);
  return v;
}

function maxRunes(value: string, max: number, key: string): void {
  if (runeLength(value) > max) throw new ChannelShareRejected(`invalid channel invite: ${key} is longer than ${max} characters`);
}

/** The invite, validated; D and G participant counts and ids included. */
export function parseChannelInvite(payload: unknown): ChannelInviteMsg {
  const what = 'channel invite';
  if (!isObject(payload)) throw new ChannelShareRejected('invalid channel invite: the payload must be an object');
  const invite: ChannelInviteMsg = {
    channel_id: str(payload, 'channel_id', what),
    team_id: str(payload, 'team_id', what),
    read_only: bool(payload, 'read_only', what),
    name: str(payload, 'name', what),
    display_name: str(payload, 'display_name', what),
    header: str(payload, 'header', what),
    purpose: str(payload, 'purpose', what),
    type: str(payload, 'type', what),
    creator_id: str(payload, 'creator_id', what),
    direct_participant_ids: null,
    direct_participants: null,
  };
  const ids = array(payload, 'direct_participant_ids', what);
  if (ids && ids.some((id) => typeof id !== 'string')) throw new ChannelShareRejected('invalid channel invite: direct_participant_ids must be strings');
  invite.direct_participant_ids = ids as string[] | null;
  const users = array(payload, 'direct_participants', what);
  if (users && users.some((u) => !isObject(u))) throw new ChannelShareRejected('invalid channel invite: direct_participants must be objects');
  invite.direct_participants = users as WireUser[] | null;

  if (!isValidId(invite.channel_id)) throw new ChannelShareRejected('invalid channel invite: channel_id is not a valid id');
  if (!['O', 'P', 'D', 'G'].includes(invite.type)) throw new ChannelShareRejected(`invalid channel invite: unknown channel type "${invite.type.slice(0, 8)}"`);
  if (invite.creator_id !== '' && !isValidId(invite.creator_id)) throw new ChannelShareRejected('invalid channel invite: creator_id is not a valid id');
  maxRunes(invite.display_name, DISPLAY_NAME_MAX, 'display_name');
  maxRunes(invite.purpose, PURPOSE_MAX, 'purpose');
  maxRunes(invite.header, HEADER_MAX, 'header');

  if (invite.type === 'O' || invite.type === 'P') {
    if (!invite.name || invite.name.length > CHANNEL_NAME_MAX || !CHANNEL_NAME_RE.test(invite.name)) {
      throw new ChannelShareRejected('invalid channel invite: name must be 1-64 of a-z, 0-9, "-" and "_"');
    }
    if (!invite.display_name.trim()) throw new ChannelShareRejected('invalid channel invite: display_name is empty');
    return invite;
  }

  // D and G: the participants decide the channel; the name is recomputed from them.
  const participantIds = invite.direct_participant_ids ?? [];
  if (participantIds.some((id) => !isValidId(id))) throw new ChannelShareRejected('invalid channel invite: a direct participant id is not a valid id');
  const distinct = new Set(participantIds).size;
  if (distinct !== participantIds.length) throw new ChannelShareRejected('invalid channel invite: direct participant ids repeat');
  if (invite.type === 'D' && distinct !== 2) {
    throw new ChannelShareRejected(`cannot create direct channel ${invite.channel_id}: insufficient participant count ${distinct}`);
  }
  if (invite.type === 'G' && (distinct < GROUP_CHANNEL_MIN || distinct > GROUP_CHANNEL_MAX)) {
    throw new ChannelShareRejected(`cannot create group channel ${invite.channel_id}: bad participant count ${distinct}`);
  }
  for (const u of invite.direct_participants ?? []) {
    if (!isValidId(u.id)) throw new ChannelShareRejected('invalid channel invite: a direct participant has no valid id');
    if (typeof u.username !== 'string' || !USERNAME_RE.test(u.username.toLowerCase())) {
      throw new ChannelShareRejected(`invalid channel invite: direct participant ${u.id} has no valid username`);
    }
  }
  return invite;
}

export function parseChannelUnshare(payload: unknown): ChannelUnshareMsg {
  const what = 'channel unshare message';
  if (!isObject(payload)) throw new ChannelShareRejected('invalid channel unshare message: the payload must be an object');
  const msg = { channel_id: str(payload, 'channel_id', what), remote_id: str(payload, 'remote_id', what) };
  if (!isValidId(msg.channel_id)) throw new ChannelShareRejected('invalid channel unshare message: channel_id is not a valid id');
  return msg;
}
