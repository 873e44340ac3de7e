/**
 * The scratch tables of the raw-pipeline baseline: a source and a destination shaped like the server's posts table
 * (its columns, and the indexes it has: root_id, (channel_id, update_at, id), (channel_id, create_at, id),
 * (channel_id, seq) and the consistency digest's covering partial index), so the baseline writes what the sync
 * receiver writes. The wire JSON is the sync engine's: Go-ordered Post objects (toWirePost) in a
 * sharedchannel_sync message envelope.
 */
export const COLUMNS = [
  'id',
  'create_at',
  'update_at',
  'edit_at',
  'delete_at',
  'is_pinned',
  'user_id',
  'channel_id',
  'root_id',
  'original_id',
  'message',
  'type',
  'props',
  'hashtags',
  'file_ids',
  'pending_post_id',
  'remote_id',
] as const;

const table = (name: string) => `
CREATE TABLE ${name} (
  id varchar(26) PRIMARY KEY, create_at bigint NOT NULL DEFAULT 0, update_at bigint NOT NULL DEFAULT 0, edit_at bigint NOT NULL DEFAULT 0,
  delete_at bigint NOT NULL DEFAULT 0, is_pinned boolean NOT NULL DEFAULT false, user_id varchar(26) NOT NULL, channel_id varchar(26) NOT NULL,
  root_id varchar(26) NOT NULL DEFAULT '', original_id varchar(26) NOT NULL DEFAULT '', message text NOT NULL DEFAULT '',
  type varchar(64) NOT NULL DEFAULT '', props jsonb, hashtags varchar(1000) NOT NULL DEFAULT '', file_ids jsonb NOT NULL DEFAULT '[]',
  pending_post_id varchar(64) NOT NULL DEFAULT '', remote_id varchar(26), seq bigserial NOT NULL);
CREATE INDEX ${name}_root_id ON ${name} (root_id);
CREATE INDEX ${name}_channel_update ON ${name} (channel_id, update_at, id);
CREATE INDEX ${name}_channel_create ON ${name} (channel_id, create_at, id);
CREATE INDEX ${name}_channel_seq ON ${name} (channel_id, seq);
CREATE INDEX ${name}_consistency ON ${name} (channel_id, id) INCLUDE (update_at, delete_at, seq, remote_id) WHERE type NOT LIKE 'system\\_%';
`;

export const SCHEMA_SQL = table('src_posts') + table('dst_posts');

export interface RawPost {
  id: string;
  create_at: number;
  update_at: number;
  edit_at: number;
  delete_at: number;
  is_pinned: boolean;
  user_id: string;
  channel_id: string;
  root_id: string;
  original_id: string;
  message: string;
  type: string;
  props: Record<string, unknown> | null;
  hashtags: string;
  file_ids: string[] | null;
  pending_post_id: string;
  remote_id: string | null;
}

/** The post as the sync engine puts it on the wire (src/modules/sync/sync-wire.ts toWirePost). */
export function wirePost(p: RawPost): Record<string, unknown> {
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
    ...(p.remote_id ? { remote_id: p.remote_id } : {}),
    reply_count: 0,
    last_reply_at: 0,
    participants: null,
  };
}

/** A sync message as the remote-cluster transport frames it: the posts of one channel in a sharedchannel_sync payload. */
export function syncFrame(remoteId: string, channelId: string, posts: RawPost[]): Record<string, unknown> {
  return {
    remote_id: remoteId,
    msg: {
      id: `${Date.now()}${Math.random().toString(36).slice(2, 10)}`,
      topic: 'sharedchannel_sync',
      create_at: Date.now(),
      payload: { channel_id: channelId, posts: posts.map(wirePost) },
    },
  };
}

/** One multi-row INSERT for `rows` (placeholders $1..$n), optionally an upsert on id (what the receiver does). */
export function multiRowInsert(table: string, rows: RawPost[], upsert: boolean): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const tuples = rows.map((r) => {
    const ph = COLUMNS.map((c) => {
      const v = r[c];
      values.push(c === 'props' || c === 'file_ids' ? JSON.stringify(v ?? (c === 'file_ids' ? [] : null)) : v);
      return `$${values.length}`;
    });
    return `(${ph.join(',')})`;
  });
  let text = `INSERT INTO ${table} (${COLUMNS.join(',')}) VALUES ${tuples.join(',')}`;
  if (upsert) {
    text += ` ON CONFLICT (id) DO UPDATE SET ${COLUMNS.filter((c) => c !== 'id')
      .map((c) => `${c} = EXCLUDED.${c}`)
      .join(', ')}, seq = nextval('dst_posts_seq_seq') WHERE dst_posts.update_at < EXCLUDED.update_at`;
  }
  return { text, values };
}
