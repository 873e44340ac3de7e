import { UploadRejected } from '../uploads.errors.js';

/** Mattermost's UploadSession JSON (protocol 1.7; `path` is never serialised). */
export interface WireUploadSession {
  id: string;
  type: 'attachment' | 'import' | string;
  create_at: number;
  user_id: string;
  channel_id?: string;
  filename: string;
  file_size: number;
  file_offset: number;
  remote_id: string;
  req_file_id: string;
}

export const UPLOAD_TYPE_ATTACHMENT = 'attachment';

const ID_RE = /^[a-z0-9]{26}$/;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The session a sharedchannel_upload carries; every defect is a refusal with the field named. */
export function parseUploadSession(payload: unknown): WireUploadSession {
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) throw new UploadRejected('invalid upload session');
  const s = payload as Record<string, unknown>;
  for (const k of ['id', 'user_id', 'channel_id', 'req_file_id'] as const) {
    if (typeof s[k] !== 'string' || !ID_RE.test(s[k] as string)) throw new UploadRejected(`invalid upload session: ${k}`);
  }
  if (typeof s.type !== 'string') throw new UploadRejected('invalid upload session: type');
  if (typeof s.filename !== 'string' || !s.filename.trim() || s.filename.length > 256 || /[/\\\0]/.test(s.filename)) {
    throw new UploadRejected('invalid upload session: filename');
  }
  if (!isCount(s.file_size)) throw new UploadRejected('invalid upload session: file_size');
  return {
    id: s.id as string,
    type: s.type,
    create_at: isCount(s.create_at) ? s.create_at : 0,
    user_id: s.user_id as string,
    channel_id: s.channel_id as string,
    filename: s.filename,
    file_size: s.file_size,
    file_offset: isCount(s.file_offset) ? s.file_offset : 0,
    remote_id: typeof s.remote_id === 'string' ? s.remote_id : '',
    req_file_id: s.req_file_id as string,
  };
}

/** A reply's session, as the sender reads it: only the offset matters, and it must make sense. */
export function parseSavedSession(payload: unknown, expected: { id: string; file_size: number }): WireUploadSession | null {
  if (!payload || typeof payload !== 'object') return null;
  const s = payload as Partial<WireUploadSession>;
  if (s.id !== expected.id || !isCount(s.file_offset) || s.file_offset > expected.file_size) return null;
  return s as WireUploadSession;
}
