import { jsonBytes } from '../../common/json-body.js';
import type { AckRecord, PostRecord, ReactionRecord, StatusRecord } from '../chat/feed/channel-feed.service.js';
import { postCoreJson } from '../chat/posts/post.mapper.js';
import type { WireAck, WirePost, WireReaction, WireStatus } from '../shared-channel/wire.types.js';

/** Post JSON in Go's field order (wire-samples "Post.*"). No metadata: a Mattermost receiver would replace acks from it. */
export function toWirePost(p: PostRecord): WirePost {
  return {
    ...postCoreJson(p),
    ...(p.remote_id ? { remote_id: p.remote_id } : {}),
    reply_count: 0,
    last_reply_at: 0,
    participants: null,
  };
}

export function toWireReaction(r: ReactionRecord): WireReaction {
  return {
    user_id: r.user_id,
    post_id: r.post_id,
    emoji_name: r.emoji_name,
    create_at: r.create_at,
    update_at: r.update_at,
    delete_at: r.delete_at,
    remote_id: r.remote_id ?? null,
    channel_id: r.channel_id,
  };
}

export function toWireAck(a: AckRecord): WireAck {
  return { user_id: a.user_id, post_id: a.post_id, acknowledged_at: a.acknowledged_at, channel_id: a.channel_id, ...(a.remote_id ? { remote_id: a.remote_id } : {}) };
}

export function toWireStatus(s: StatusRecord): WireStatus {
  return { user_id: s.user_id, status: s.status, manual: s.manual, last_activity_at: s.last_activity_at, dnd_end_time: s.dnd_end_time };
}

/**
 * Most items of each kind one sync message may carry (README "Limits"). Far above what any sender sends (ours: 25
 * users, 1,000 posts, 500 reactions or acknowledgements, 100 membership changes per message; Mattermost's fewer);
 * items past a cap are refused one by one, like any other bad item, so the sender moves on instead of retrying the
 * whole message for ever. Transforms past their cap are ignored (those mentions stay as written).
 */
export const SYNC_MSG_CAPS = {
  users: 1000,
  posts: 1000,
  reactions: 2000,
  acknowledgements: 2000,
  statuses: 1000,
  membership_changes: 1000,
  mention_transforms: 2000,
} as const;

const ID_RE = /^[a-z0-9]{26}$/;
const isId = (v: unknown): v is string => typeof v === 'string' && ID_RE.test(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
/** PostgreSQL stores no NUL character in text or jsonb: an item carrying one is refused alone, not the message. */
const hasNul = (v: string): boolean => v.includes('\u0000');
function deepHasNul(v: unknown, depth = 0): boolean {
  if (typeof v === 'string') return hasNul(v);
  if (!v || typeof v !== 'object' || depth > 64) return false;
  if (Array.isArray(v)) return v.some((x) => deepHasNul(x, depth + 1));
  return Object.entries(v).some(([k, x]) => hasNul(k) || deepHasNul(x, depth + 1));
}
const isStr = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max && !hasNul(v);

/**
 * Hand-written shape checks for the hot path: a fraction of class-validator's cost per item (see the benchmark).
 * `propsMaxBytes` is POST_PROPS_MAX_BYTES: a post whose props are larger is refused alone.
 */
export function wirePostProblem(p: unknown, propsMaxBytes = Infinity): string | null {
  if (!p || typeof p !== 'object') return 'post is not an object';
  const o = p as Record<string, unknown>;
  if (!isId(o.id)) return 'invalid post id';
  if (!isId(o.user_id)) return 'invalid user_id';
  if (!isId(o.channel_id)) return 'invalid channel_id';
  if (!(o.root_id === undefined || o.root_id === '' || isId(o.root_id))) return 'invalid root_id';
  if (!isNum(o.create_at) || !isNum(o.update_at)) return 'invalid timestamps';
  if (!(o.edit_at === undefined || isNum(o.edit_at)) || !(o.delete_at === undefined || isNum(o.delete_at))) return 'invalid timestamps';
  if (!isStr(o.message, 16383 * 4)) return 'invalid message';
  if (!(o.type === undefined || isStr(o.type, 64))) return 'invalid type';
  if (!(o.props === undefined || o.props === null || (typeof o.props === 'object' && !Array.isArray(o.props)))) return 'invalid props';
  if (o.props && deepHasNul(o.props)) return 'props contain a NUL character';
  if (o.props && jsonBytes(o.props) > propsMaxBytes) return `props larger than ${propsMaxBytes} bytes`;
  if (typeof o.hashtags === 'string' && hasNul(o.hashtags)) return 'invalid hashtags';
  if (typeof o.original_id === 'string' && hasNul(o.original_id)) return 'invalid original_id';
  if (!(o.file_ids === undefined || o.file_ids === null || (Array.isArray(o.file_ids) && o.file_ids.length <= 10 && o.file_ids.every(isId)))) {
    return 'invalid file_ids';
  }
  return null;
}

export function wireReactionProblem(r: unknown): string | null {
  if (!r || typeof r !== 'object') return 'reaction is not an object';
  const o = r as Record<string, unknown>;
  if (!isId(o.user_id) || !isId(o.post_id)) return 'invalid ids';
  if (!isStr(o.emoji_name, 64)) return 'invalid emoji_name';
  if (!isNum(o.create_at ?? 0) || !isNum(o.update_at ?? 0) || !isNum(o.delete_at ?? 0)) return 'invalid timestamps';
  return null;
}

export function wireAckProblem(a: unknown): string | null {
  if (!a || typeof a !== 'object') return 'acknowledgement is not an object';
  const o = a as Record<string, unknown>;
  if (!isId(o.user_id) || !isId(o.post_id)) return 'invalid ids';
  if (!isNum(o.acknowledged_at ?? 0)) return 'invalid acknowledged_at';
  return null;
}

export function wireStatusProblem(s: unknown): string | null {
  if (!s || typeof s !== 'object') return 'status is not an object';
  const o = s as Record<string, unknown>;
  if (!isId(o.user_id)) return 'invalid user_id';
  if (!['online', 'away', 'dnd', 'offline', 'ooo'].includes(o.status as string)) return 'invalid status';
  return null;
}
