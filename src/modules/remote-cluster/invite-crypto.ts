import { trimTrailing } from '../../common/strings.js';
import { createCipheriv, createDecipheriv, pbkdf2, randomBytes, scrypt } from 'node:crypto';
import { isValidId } from '../../common/ids.js';

/**
 * Invite codes exchanged with Mattermost servers (protocol reference section 2.2). Mattermost decodes these
 * with its own Go code, so every byte we emit has to match what `RemoteClusterInvite.Encrypt` would produce,
 * and we have to open every code a Mattermost server of any supported version may hand an administrator.
 */

/** The plaintext of an invite code; property names are the Go JSON tags. */
export interface RemoteClusterInvite {
  remote_id: string;
  remote_team_id: string;
  site_url: string;
  token: string;
  refreshed_token?: string;
  version?: number;
}

/** Version we put in new invites: acceptors refresh the token (v>=2) and Mattermost picks PBKDF2 (v>=3). */
export const INVITE_VERSION = 3;
export const PBKDF2_ITERATIONS = 600_000;

const SALT_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** Smallest blob that can authenticate at all; anything shorter would only burn two key derivations. */
const MIN_SEALED_BYTES = SALT_BYTES + NONCE_BYTES + TAG_BYTES;
/** Real codes are ~250-350 characters; the cap keeps hostile input from costing memory or CPU. */
const MAX_CODE_CHARS = 16 * 1024;

// scrypt with N=32768, r=8 needs 128*N*r = 32 MiB, above Node's 32 MiB default maxmem once overhead is counted.
const SCRYPT_OPTIONS = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

export type InviteErrorReason = 'base64' | 'decrypt';

/**
 * The only error decryptInvite throws. `reason` mirrors Mattermost's two API errors
 * (api.remote_cluster.base64_decode_error / api.remote_cluster.invite_decrypt_error). The message never
 * carries plaintext or key material, so it is safe to log or return.
 */
export class InviteError extends Error {
  readonly reason: InviteErrorReason;

  constructor(reason: InviteErrorReason, message: string) {
    super(message);
    this.name = 'InviteError';
    this.reason = reason;
  }
}

/**
 * Go's json.Marshal of RemoteClusterInvite, byte for byte: field order follows the struct, `refreshed_token`
 * and `version` are omitempty, and strings get Go's HTML-safe escaping.
 */
export function marshalInvite(invite: RemoteClusterInvite): string {
  let json =
    `{"remote_id":${goJsonString(invite.remote_id)}` +
    `,"remote_team_id":${goJsonString(invite.remote_team_id)}` +
    `,"site_url":${goJsonString(invite.site_url)}` +
    `,"token":${goJsonString(invite.token)}`;
  if (invite.refreshed_token) json += `,"refreshed_token":${goJsonString(invite.refreshed_token)}`;
  const version = invite.version ?? 0;
  if (!Number.isSafeInteger(version)) {
    // A Go int cannot hold it, so no Mattermost server could read the result.
    throw new TypeError('invite version must be an integer');
  }
  if (version !== 0) json += `,"version":${version}`;
  return json + '}';
}

/**
 * Seals an invite the way Mattermost does for version >= 3 (PBKDF2 key). We always use PBKDF2 regardless of
 * `invite.version` because every Mattermost that still accepts invites tries PBKDF2 first; callers should set
 * `version: INVITE_VERSION` so the acceptor also performs the token refresh.
 */
export async function encryptInvite(invite: RemoteClusterInvite, password: string): Promise<string> {
  const plaintext = Buffer.from(marshalInvite(invite), 'utf8');
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const key = await derivePbkdf2(Buffer.from(password, 'utf8'), salt);
  try {
    const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return encodeGoUrlBase64(Buffer.concat([salt, nonce, ciphertext, cipher.getAuthTag()]));
  } finally {
    key.fill(0);
  }
}

/**
 * Opens an invite code from Mattermost (any KDF generation) or from encryptInvite. Rejects with InviteError
 * and nothing else, whatever the input: this sits directly behind an API endpoint fed by pasted text.
 */
export async function decryptInvite(code: string, password: string): Promise<RemoteClusterInvite> {
  try {
    return await openInvite(code, password);
  } catch (err) {
    // Last line of defence for the "only InviteError" contract; nothing below is expected to throw otherwise.
    if (err instanceof InviteError) throw err;
    throw new InviteError('decrypt', 'invite code could not be opened');
  }
}

async function openInvite(code: string, password: string): Promise<RemoteClusterInvite> {
  // Types are not enforced at runtime for request bodies, so guard them here rather than crash later.
  if (typeof code !== 'string') throw new InviteError('base64', 'invite code must be a string');
  if (typeof password !== 'string') throw new InviteError('decrypt', 'password must be a string');

  const sealed = decodeGoUrlBase64(code);
  // Go checks only `<= 16` and then panics on 17..27 bytes; anything below salt+nonce+tag cannot authenticate.
  if (sealed.length < MIN_SEALED_BYTES) throw new InviteError('decrypt', 'invite code is too short');

  const salt = sealed.subarray(0, SALT_BYTES);
  const nonce = sealed.subarray(SALT_BYTES, SALT_BYTES + NONCE_BYTES);
  const body = sealed.subarray(SALT_BYTES + NONCE_BYTES);
  const pw = Buffer.from(password, 'utf8');

  // Same order as Mattermost: current codes are PBKDF2; scrypt only for codes from servers before v3 invites.
  let plaintext = await openWith(() => derivePbkdf2(pw, salt), nonce, body);
  plaintext ??= await openWith(() => deriveScrypt(pw, salt), nonce, body);
  if (plaintext === null) throw new InviteError('decrypt', 'wrong password or corrupted invite code');

  return parseInvite(plaintext);
}

async function openWith(derive: () => Promise<Buffer>, nonce: Buffer, body: Buffer): Promise<Buffer | null> {
  let key: Buffer;
  try {
    key = await derive();
  } catch {
    throw new InviteError('decrypt', 'key derivation failed');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    // update() output is unauthenticated until final() succeeds, so it is only kept if final() passes.
    const out = decipher.update(body.subarray(0, body.length - TAG_BYTES));
    return Buffer.concat([out, decipher.final()]);
  } catch {
    return null;
  } finally {
    key.fill(0);
  }
}

// The callback forms run on libuv's threadpool; the *Sync forms would stall every request for ~0.1-0.2 s.
function derivePbkdf2(password: Buffer, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(password, salt, PBKDF2_ITERATIONS, KEY_BYTES, 'sha256', (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function deriveScrypt(password: Buffer, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_BYTES, SCRYPT_OPTIONS, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/**
 * Go's json.Unmarshal into RemoteClusterInvite, plus the invite validation Mattermost applies before use.
 * Like Go, unknown keys are ignored and `null` leaves a field at its zero value; a wrong JSON type is an error.
 * (Go also matches keys case-insensitively; Mattermost never emits anything but the exact tags, so we don't.)
 */
function parseInvite(plaintext: Buffer): RemoteClusterInvite {
  let parsed: unknown;
  try {
    // Invalid UTF-8 becomes U+FFFD here, as it does in Go's decoder.
    parsed = JSON.parse(plaintext.toString('utf8'));
  } catch {
    throw new InviteError('decrypt', 'invite plaintext is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InviteError('decrypt', 'invite plaintext is not a JSON object');
  }
  const obj = parsed as Record<string, unknown>;

  const remoteId = stringField(obj, 'remote_id');
  const remoteTeamId = stringField(obj, 'remote_team_id');
  const siteUrl = stringField(obj, 'site_url');
  const token = stringField(obj, 'token');
  const refreshedToken = stringField(obj, 'refreshed_token');
  const version = intField(obj, 'version');

  if (!isValidId(remoteId)) throw new InviteError('decrypt', 'invite has an invalid remote_id');
  if (token === '') throw new InviteError('decrypt', 'invite has no token');
  if (siteUrl === '') throw new InviteError('decrypt', 'invite has no site_url');

  // Built in Go field order with Go's omitempty, so marshalInvite(decrypted) reproduces the plaintext.
  const invite: RemoteClusterInvite = { remote_id: remoteId, remote_team_id: remoteTeamId, site_url: siteUrl, token };
  if (refreshedToken !== '') invite.refreshed_token = refreshedToken;
  if (version !== 0) invite.version = version;
  return invite;
}

function stringField(obj: Record<string, unknown>, name: string): string {
  const value = Object.hasOwn(obj, name) ? obj[name] : undefined;
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new InviteError('decrypt', `invite field ${name} is not a string`);
  return value;
}

function intField(obj: Record<string, unknown>, name: string): number {
  const value = Object.hasOwn(obj, name) ? obj[name] : undefined;
  if (value === undefined || value === null) return 0;
  // Go rejects 3.5 for an int; 3.0 slips through here, which is harmless since it means the same version.
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new InviteError('decrypt', `invite field ${name} is not an integer`);
  }
  return value;
}

/** JSON string exactly as Go's encoding/json writes it (default HTML escaping on). */
function goJsonString(value: string): string {
  // Go cannot hold a lone UTF-16 surrogate; it would encode U+FFFD, whereas JSON.stringify writes "\udXXX".
  const wellFormed = value.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
  // JSON.stringify matches Go for quotes, backslashes and control characters (Go >= 1.22 also writes \b and \f);
  // Go additionally escapes <, >, & and the JavaScript line separators.
  return JSON.stringify(wellFormed).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Go base64.URLEncoding: URL-safe alphabet, '=' padded. */
function encodeGoUrlBase64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

const URL_BASE64_RE = /^[A-Za-z0-9_-]*={0,2}$/;

/**
 * Strict decoder, because Buffer.from(..., 'base64url') silently skips bad characters and would turn a
 * standard-alphabet code into different bytes instead of an error. Padding is optional (a pasted code often
 * loses it) but must be correct when present. CR/LF are dropped as Go's decoder does for wrapped text.
 */
function decodeGoUrlBase64(code: string): Buffer {
  if (code.length > MAX_CODE_CHARS) throw new InviteError('base64', 'invite code is too long');
  const text = code.replace(/[\r\n]/g, '');
  if (!URL_BASE64_RE.test(text)) throw new InviteError('base64', 'invite code is not URL-safe base64');
  const data = trimTrailing(text, '=');
  const padding = text.length - data.length;
  if (data.length % 4 === 1) throw new InviteError('base64', 'invite code has an impossible length');
  if (padding > 0 && (text.length % 4 !== 0 || padding !== (4 - (data.length % 4)) % 4)) {
    throw new InviteError('base64', 'invite code has incorrect padding');
  }
  return Buffer.from(data, 'base64url');
}
