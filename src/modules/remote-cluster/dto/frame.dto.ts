import { isValidId } from '../../../common/ids.js';
import type { RemoteClusterInvite } from '../invite-crypto.js';
import { RemoteClusterErrors } from '../remote-cluster.errors.js';

/**
 * The server-to-server envelopes (protocol section 1.2). These are parsed by hand rather than by
 * class-validator because each failure has its own Mattermost error id and the payload is arbitrary JSON.
 */

/** Mattermost's RemoteClusterMsg; `payload` is embedded JSON (any value, `null` included). */
export interface RemoteClusterMsg<P = unknown> {
  id: string;
  topic: string;
  create_at: number;
  payload: P;
}

export interface RemoteClusterFrame<P = unknown> {
  remote_id: string;
  msg: RemoteClusterMsg<P>;
}

export interface RemoteClusterPing {
  sent_at: number;
  recv_at: number;
}

export const RESPONSE_STATUS_OK = 'OK';
export const RESPONSE_STATUS_FAIL = 'FAIL';

/** Reply to /msg (and, status only, to /confirm_invite). */
export interface RemoteClusterResponse<P = unknown> {
  status: typeof RESPONSE_STATUS_OK | typeof RESPONSE_STATUS_FAIL;
  err: string;
  payload: P | null;
}

/** Topics with their own endpoint; a /msg handler can never be registered for them. */
export const TOPIC_PING = 'ping';
export const TOPIC_INVITATION = 'invitation';

/** Longest topic we accept; Mattermost's are under 40 characters. Keeps logs and metrics sane. */
export const MAX_TOPIC_LENGTH = 128;
/** Longest token a peer may hand us; the guard refuses longer ones, so storing one would lock the peer out. */
export const MAX_TOKEN_LENGTH = 128;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Go's json.Unmarshal into a string field: absent or null is '', any other type is an error. */
function str(obj: Json, key: string, where: string): string {
  const v = Object.hasOwn(obj, key) ? obj[key] : undefined;
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw RemoteClusterErrors.unmarshal(`${where}${key} must be a string`);
  return v;
}

/** Go's json.Unmarshal into an int64 field. */
function int(obj: Json, key: string, where: string): number {
  const v = Object.hasOwn(obj, key) ? obj[key] : undefined;
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw RemoteClusterErrors.unmarshal(`${where}${key} must be an integer`);
  return v;
}

/**
 * Decodes and validates a RemoteClusterFrame as Mattermost's handlers do: a wrong JSON type is
 * api.unmarshal_error, then frame.IsValid(): remote id, message id, topic, payload present.
 */
export function parseFrame(body: unknown): RemoteClusterFrame {
  if (!isObject(body)) throw RemoteClusterErrors.unmarshal('the body must be a JSON object');
  const remoteId = str(body, 'remote_id', '');
  const rawMsg = Object.hasOwn(body, 'msg') ? body.msg : undefined;
  if (rawMsg !== undefined && rawMsg !== null && !isObject(rawMsg)) throw RemoteClusterErrors.unmarshal('msg must be an object');
  const m: Json = rawMsg ?? {};
  const msg: RemoteClusterMsg = {
    id: str(m, 'id', 'msg.'),
    topic: str(m, 'topic', 'msg.'),
    create_at: int(m, 'create_at', 'msg.'),
    payload: Object.hasOwn(m, 'payload') ? m.payload : undefined,
  };

  if (!isValidId(remoteId) || !isValidId(msg.id)) throw RemoteClusterErrors.invalidFrameId();
  if (msg.topic === '' || msg.topic.length > MAX_TOPIC_LENGTH) throw RemoteClusterErrors.invalidTopic();
  // json.RawMessage: an absent payload is empty (invalid), a literal null is four bytes (valid).
  if (msg.payload === undefined) throw RemoteClusterErrors.missingPayload();
  return { remote_id: remoteId, msg };
}

/** The ping payload: `{sent_at}`; a non-object is an invalid msg.payload, as in Mattermost. */
export function parsePingPayload(payload: unknown): RemoteClusterPing {
  if (payload === null) return { sent_at: 0, recv_at: 0 };
  if (!isObject(payload)) throw RemoteClusterErrors.invalidPayload('ping payload must be an object');
  try {
    return { sent_at: int(payload, 'sent_at', ''), recv_at: int(payload, 'recv_at', '') };
  } catch {
    throw RemoteClusterErrors.invalidPayload('sent_at and recv_at must be integers');
  }
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

const TOKEN_RE = /^[\x21-\x7e]+$/;

/**
 * The invitation confirmation the acceptor sends (a RemoteClusterInvite): its site URL must be reachable
 * over HTTP(S) and its tokens must be something our guard will later accept.
 */
export function parseInvitePayload(payload: unknown): RemoteClusterInvite {
  if (!isObject(payload)) throw RemoteClusterErrors.invalidPayload('the confirmation must be an object');
  let invite: RemoteClusterInvite;
  try {
    invite = {
      remote_id: str(payload, 'remote_id', ''),
      remote_team_id: str(payload, 'remote_team_id', ''),
      site_url: str(payload, 'site_url', ''),
      token: str(payload, 'token', ''),
      refreshed_token: str(payload, 'refreshed_token', ''),
      version: int(payload, 'version', ''),
    };
  } catch (err) {
    throw RemoteClusterErrors.invalidPayload(err instanceof Error ? err.message : '');
  }
  if (!isHttpUrl(invite.site_url)) throw RemoteClusterErrors.invalidPayload('site_url must be an http(s) URL');
  for (const [name, token] of [['token', invite.token], ['refreshed_token', invite.refreshed_token ?? '']] as const) {
    if (token === '' && name === 'refreshed_token') continue;
    if (token.length > MAX_TOKEN_LENGTH || !TOKEN_RE.test(token)) throw RemoteClusterErrors.invalidPayload(`${name} is not a usable token`);
  }
  return invite;
}

/** A peer's reply to /msg or /confirm_invite; null when it is not a Response envelope at all. */
export function parseResponse(body: unknown): RemoteClusterResponse | null {
  if (!isObject(body)) return null;
  const status = body.status;
  if (status !== RESPONSE_STATUS_OK && status !== RESPONSE_STATUS_FAIL) return null;
  const err = typeof body.err === 'string' ? body.err : '';
  return { status, err, payload: Object.hasOwn(body, 'payload') ? (body.payload ?? null) : null };
}

/** A peer's reply to /ping: the bare ping object. */
export function parsePingReply(body: unknown): RemoteClusterPing | null {
  if (!isObject(body)) return null;
  const { sent_at: sentAt, recv_at: recvAt } = body;
  if (typeof sentAt !== 'number' || typeof recvAt !== 'number') return null;
  return { sent_at: sentAt, recv_at: recvAt };
}
