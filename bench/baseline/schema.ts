/**
 * The scratch tables of the raw-pipeline baseline: a posts-shaped source (with the channel/create_at and
 * channel/seq indexes the real posts table has) and a destination the receiver upserts into.
 */
export const COLUMNS = ['id', 'channel_id', 'user_id', 'root_id', 'create_at', 'update_at', 'edit_at', 'delete_at', 'message', 'type', 'props'] as const;

export const SCHEMA_SQL = `
CREATE TABLE src_posts (
  id varchar(26) PRIMARY KEY, channel_id varchar(26) NOT NULL, user_id varchar(26) NOT NULL, root_id varchar(26) NOT NULL DEFAULT '',
  create_at bigint NOT NULL, update_at bigint NOT NULL, edit_at bigint NOT NULL DEFAULT 0, delete_at bigint NOT NULL DEFAULT 0,
  message text NOT NULL, type varchar(64) NOT NULL DEFAULT '', props jsonb, seq bigserial NOT NULL);
CREATE INDEX src_posts_channel_create ON src_posts (channel_id, create_at, id);
CREATE INDEX src_posts_channel_seq ON src_posts (channel_id, seq);
CREATE TABLE dst_posts (
  id varchar(26) PRIMARY KEY, channel_id varchar(26) NOT NULL, user_id varchar(26) NOT NULL, root_id varchar(26) NOT NULL DEFAULT '',
  create_at bigint NOT NULL, update_at bigint NOT NULL, edit_at bigint NOT NULL DEFAULT 0, delete_at bigint NOT NULL DEFAULT 0,
  message text NOT NULL, type varchar(64) NOT NULL DEFAULT '', props jsonb, seq bigserial NOT NULL);
CREATE INDEX dst_posts_channel_create ON dst_posts (channel_id, create_at, id);
CREATE INDEX dst_posts_channel_seq ON dst_posts (channel_id, seq);
`;

export interface RawPost {
  id: string;
  channel_id: string;
  user_id: string;
  root_id: string;
  create_at: number;
  update_at: number;
  edit_at: number;
  delete_at: number;
  message: string;
  type: string;
  props: Record<string, unknown> | null;
}

/** One multi-row INSERT for `rows` (placeholders $1..$n), optionally an upsert on id. */
export function multiRowInsert(table: string, rows: RawPost[], upsert: boolean): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const tuples = rows.map((r) => {
    const ph = COLUMNS.map((c) => {
      values.push(c === 'props' ? JSON.stringify(r.props) : r[c]);
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
