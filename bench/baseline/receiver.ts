import http from 'node:http';
import pg from 'pg';
import { multiRowInsert, type RawPost } from './schema.js';

/**
 * The second Node process of the raw-pipeline baseline: POST /msg takes a sync message (the engine's envelope and
 * post JSON, see schema.ts) and writes its posts with one multi-row INSERT ... ON CONFLICT. Prints "listening <port>"
 * when ready. Its pool has a connection for each of up to 8 messages in flight.
 */
const url = process.env.BASELINE_DB_URL;
if (!url) throw new Error('BASELINE_DB_URL is required');
const pool = new pg.Pool({ connectionString: url, max: 8 });

interface Frame {
  msg: { payload: { channel_id: string; posts: RawPost[] } };
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/msg') {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    void (async () => {
      try {
        const frame = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Frame;
        const posts = frame.msg.payload.posts;
        if (posts.length) await pool.query(multiRowInsert('dst_posts', posts, true));
        const body = JSON.stringify({ status: 'OK', payload: { post_errors: [], users_syncd: [] } });
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
      } catch (err) {
        res.writeHead(500).end(String(err));
      }
    })();
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
