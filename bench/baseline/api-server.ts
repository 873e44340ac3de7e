import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import pg from 'pg';

/**
 * The raw per-request baseline of the API write path: node:http and pg, on the server's own database (the same
 * tables, indexes and triggers), one request per post. POST /api/v4/posts with `Authorization: Bearer <token>` and
 * {channel_id, message}: the session lookup by token hash, the membership check, and the post insert with its
 * journal row in one statement, as PostRepository.insertWithJournal writes it. Nothing else: no validation beyond
 * that, no events, no Redis. Prints "listening <port>" when ready.
 */
const url = process.env.BASELINE_DB_URL;
if (!url) throw new Error('BASELINE_DB_URL is required');
// The server's pool size (DATABASE_POOL_SIZE default): the same number of connections for the same concurrency.
const pool = new pg.Pool({ connectionString: url, max: Number(process.env.BASELINE_POOL ?? 20) });

const newId = () => randomBytes(16).toString('hex').slice(0, 26);

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
}

async function createPost(token: string, body: { channel_id?: string; message?: string }, res: http.ServerResponse): Promise<void> {
  const hash = createHash('sha256').update(token, 'utf8').digest('hex');
  const { rows: who } = await pool.query<{ user_id: string }>(
    'SELECT s.user_id FROM sessions s JOIN users u ON u.id = s.user_id AND u.delete_at = 0 WHERE s.token_hash = $1 AND (s.expires_at = 0 OR s.expires_at > $2)',
    [hash, Date.now()],
  );
  if (!who.length) return reply(res, 401, { id: 'api.context.session_expired.app_error', status_code: 401 });
  const channelId = String(body.channel_id ?? '');
  const { rows: member } = await pool.query('SELECT 1 FROM channel_members m JOIN channels c ON c.id = m.channel_id AND c.delete_at = 0 WHERE m.channel_id = $1 AND m.user_id = $2', [
    channelId,
    who[0].user_id,
  ]);
  if (!member.length) return reply(res, 403, { id: 'api.context.permissions.app_error', status_code: 403 });
  const id = newId();
  const now = Date.now();
  await pool.query(
    `WITH p AS (INSERT INTO posts (id, create_at, update_at, user_id, channel_id, message, props) VALUES ($1, $2, $2, $3, $4, $5, '{}') RETURNING id)
     INSERT INTO change_events (kind, channel_id, origin_remote_id, data, create_at) SELECT 'post_created', $4, NULL, $6, $2 FROM p`,
    [id, now, who[0].user_id, channelId, String(body.message ?? ''), JSON.stringify({ post_id: id, root_id: '' })],
  );
  reply(res, 201, { id, create_at: now, update_at: now, user_id: who[0].user_id, channel_id: channelId, message: body.message ?? '' });
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/api/v4/posts') {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const token = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
    let body: { channel_id?: string; message?: string };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      return reply(res, 400, { id: 'api.context.invalid_body_param.app_error', status_code: 400 });
    }
    createPost(token, body, res).catch((err: unknown) => reply(res, 500, { message: String(err) }));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  console.log(`listening ${(server.address() as { port: number }).port}`);
});
process.on('SIGTERM', () => {
  server.close();
  void pool.end().finally(() => process.exit(0));
});
