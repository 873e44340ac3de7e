import type { FileInfoJson } from '../files/file-info.mapper.js';
import type { PostAcknowledgementEntity } from './post-acknowledgement.entity.js';
import type { PostEntity } from './post.entity.js';
import type { ReactionEntity } from './reaction.entity.js';

export function toReactionJson(r: ReactionEntity) {
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

export function toAckJson(a: PostAcknowledgementEntity) {
  return {
    user_id: a.user_id,
    post_id: a.post_id,
    acknowledged_at: a.acknowledged_at,
    channel_id: a.channel_id,
    ...(a.remote_id ? { remote_id: a.remote_id } : {}),
  };
}

export interface PostExtras {
  reply_count: number;
  last_reply_at: number;
  reactions: ReactionEntity[];
  acknowledgements: PostAcknowledgementEntity[];
  files: FileInfoJson[];
}

/** The fields every Post JSON starts with, in Go's order (wire-samples "Post.*"). */
export function postCoreJson(p: PostEntity) {
  return {
    id: p.id,
    create_at: p.create_at,
    update_at: p.update_at,
    edit_at: p.edit_at,
    delete_at: p.delete_at,
    is_pinned: p.is_pinned,
    user_id: p.user_id,
    channel_id: p.channel_id,
    root_id: p.root_id,
    original_id: p.original_id,
    message: p.message,
    type: p.type,
    props: p.props ?? {},
    hashtags: p.hashtags,
    file_ids: p.file_ids ?? [],
    pending_post_id: p.pending_post_id,
  };
}

/** Mattermost's Post JSON for clients: the core fields, thread counts and metadata (reactions, files, acks). */
export function toPostJson(p: PostEntity, extras: PostExtras) {
  const metadata: Record<string, unknown> = {};
  if (extras.reactions.length) metadata.reactions = extras.reactions.map(toReactionJson);
  if (extras.files.length) metadata.files = extras.files;
  if (extras.acknowledgements.length) metadata.acknowledgements = extras.acknowledgements.map(toAckJson);
  return {
    ...postCoreJson(p),
    ...(extras.reactions.length ? { has_reactions: true } : {}),
    ...(p.remote_id ? { remote_id: p.remote_id } : {}),
    reply_count: extras.reply_count,
    last_reply_at: extras.last_reply_at,
    participants: null,
    metadata,
  };
}

export type PostJson = ReturnType<typeof toPostJson>;

export interface PostListJson {
  order: string[];
  posts: Record<string, PostJson>;
  next_post_id: string;
  prev_post_id: string;
  has_next: boolean;
}
