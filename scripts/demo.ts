// npm run demo: two federated servers on this machine's PostgreSQL and Redis, a shared channel, posts both ways.
// Each server is the built app (dist/src/main.js) in its own process with its own database and queue prefix.
// Flags: --exit (stop after the exchange instead of leaving the servers running), --posts N (per side, default 5).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import pg from 'pg';
import { startNodeFlags } from './start-flags.js';

const args = process.argv.slice(2);
const EXIT = args.includes('--exit');
const POSTS = Number(args[args.indexOf('--posts') + 1]) > 0 && args.includes('--posts') ? Number(args[args.indexOf('--posts') + 1]) : 5;
const PG = process.env.DEMO_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ADMIN = { username: 'admin', password: 'demo-admin-pass', email: 'admin@example.com' };

const children: ChildProcess[] = [];
const cleanup = () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
};
process.on('SIGINT', () => {
  cleanup();
  process.exit(0);
});
process.on('exit', cleanup);

function freePort(preferred: number): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => {
      const any = createServer();
      any.listen(0, '127.0.0.1', () => {
        const port = (any.address() as { port: number }).port;
        any.close(() => resolve(port));
      });
    });
    srv.listen(preferred, '127.0.0.1', () => srv.close(() => resolve(preferred)));
  });
}

async function sql(db: string, text: string, params: unknown[] = []) {
  const url = new URL(PG);
  url.pathname = `/${db}`;
  const c = new pg.Client({ connectionString: url.toString() });
  await c.connect();
  try {
    return (await c.query(text, params)).rows;
  } finally {
    await c.end();
  }
}

interface Server {
  name: string;
  url: string;
  db: string;
}

async function startServer(name: string, port: number): Promise<Server> {
  const db = `mmfed_demo_${name.toLowerCase()}`;
  await sql('postgres', `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await sql('postgres', `CREATE DATABASE ${db}`);
  const url = `http://localhost:${port}`;
  const child = spawn(process.execPath, [...startNodeFlags(), 'dist/src/main.js'], {
    env: {
      ...process.env,
      PORT: String(port),
      SITE_URL: url,
      DATABASE_URL: `${PG.replace(/\/[^/]*$/, '')}/${db}`,
      REDIS_URL: REDIS,
      QUEUE_PREFIX: `demo_${name.toLowerCase()}`,
      FILES_DIR: `./data/demo-${name.toLowerCase()}`,
      LOG_LEVEL: 'warn',
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_PASSWORD: ADMIN.password,
      ADMIN_EMAIL: ADMIN.email,
      PING_INTERVAL_MS: '2000',
      REMOTE_OFFLINE_AFTER_MS: '10000',
      // Both servers are on this machine: allow loopback peers (denied by default).
      REMOTE_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128',
      // No balancer in front of the demo: stopping need not wait for one to notice (npm run cluster has one).
      SHUTDOWN_DRAIN_MS: process.env.SHUTDOWN_DRAIN_MS ?? '0',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/api/v4/system/ping`)).ok) return { name, url, db };
    } catch {
      // not up yet
    }
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not start`);
}

async function call<T = any>(s: Server, method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: T; token: string | null }> {
  const res = await fetch(s.url + path, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const parsed = text && res.headers.get('content-type') === 'application/json' ? JSON.parse(text) : text;
  if (res.status >= 300) throw new Error(`${s.name} ${method} ${path}: ${res.status} ${text}`);
  return { status: res.status, body: parsed as T, token: res.headers.get('token') };
}

async function login(s: Server, username: string, password: string): Promise<string> {
  return (await call(s, 'POST', '/api/v4/users/login', undefined, { login_id: username, password })).token!;
}

async function main(): Promise<void> {
  const [portA, portB] = [await freePort(8065), await freePort(8066)];
  console.log('starting A and B...');
  const [A, B] = await Promise.all([startServer('A', portA), startServer('B', portB === portA ? portA + 1 : portB)]);
  const [adminA, adminB] = await Promise.all([login(A, ADMIN.username, ADMIN.password), login(B, ADMIN.username, ADMIN.password)]);
  const teamA = (await call(A, 'POST', '/api/v4/teams', adminA, { name: 'alpha', display_name: 'Alpha', type: 'O' })).body.id;
  const teamB = (await call(B, 'POST', '/api/v4/teams', adminB, { name: 'beta', display_name: 'Beta', type: 'O' })).body.id;

  const created = (await call(A, 'POST', '/api/v4/remotecluster', adminA, { name: 'beta-server', display_name: 'Beta', default_team_id: teamA })).body;
  await call(B, 'POST', '/api/v4/remotecluster/accept_invite', adminB, {
    name: 'alpha-server', display_name: 'Alpha', default_team_id: teamB, invite: created.invite, password: created.password,
  });
  const remoteId = created.remote_cluster.remote_id as string;
  console.log(`connected: remote_id ${remoteId}`);

  const channel = (await call(A, 'POST', '/api/v4/channels', adminA, { team_id: teamA, name: 'town-square-shared', display_name: 'Shared Town Square', type: 'O' })).body.id;
  for (let i = 0; ; i++) {
    try {
      await call(A, 'POST', `/api/v4/remotecluster/${remoteId}/channels/${channel}/invite`, adminA);
      break;
    } catch (err) {
      if (i > 50) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  console.log(`shared channel ${channel} from A to B`);

  const alice = (await call(A, 'POST', '/api/v4/users', adminA, { username: 'alice', email: 'alice@a.example.com', password: 'alice-password' })).body;
  const bob = (await call(B, 'POST', '/api/v4/users', adminB, { username: 'bob', email: 'bob@b.example.com', password: 'bob-password' })).body;
  await call(A, 'POST', `/api/v4/teams/${teamA}/members`, adminA, { team_id: teamA, user_id: alice.id });
  await call(A, 'POST', `/api/v4/channels/${channel}/members`, adminA, { user_id: alice.id });
  for (let i = 0; i < 100; i++) {
    if ((await sql(B.db, 'SELECT 1 FROM channels WHERE id = $1', [channel])).length) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await call(B, 'POST', `/api/v4/teams/${teamB}/members`, adminB, { team_id: teamB, user_id: bob.id });
  await call(B, 'POST', `/api/v4/channels/${channel}/members`, adminB, { user_id: bob.id });
  const [aliceToken, bobToken] = [await login(A, 'alice', 'alice-password'), await login(B, 'bob', 'bob-password')];

  console.log(`\nposting ${POSTS} messages each way; each line is printed when the message appears on the other server:\n`);
  const lags: number[] = [];
  for (let i = 0; i < POSTS * 2; i++) {
    const [from, to, token, who] = i % 2 ? [B, A, bobToken, 'bob@B'] : [A, B, aliceToken, 'alice@A'];
    const message = `message ${Math.floor(i / 2) + 1} from ${who}`;
    const sent = Date.now();
    const post = (await call(from, 'POST', '/api/v4/posts', token, { channel_id: channel, message })).body;
    for (;;) {
      const rows = await sql(to.db, 'SELECT message FROM posts WHERE id = $1', [post.id]);
      if (rows.length) {
        const lag = Date.now() - sent;
        lags.push(lag);
        console.log(`  ${from.name} -> ${to.name}  ${lag.toString().padStart(5)} ms  "${rows[0].message}"`);
        break;
      }
      if (Date.now() - sent > 30_000) throw new Error(`message ${post.id} did not reach ${to.name}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }
  lags.sort((a, b) => a - b);
  console.log(`\nlag (post returned on sender -> row on receiver): median ${lags[Math.floor(lags.length / 2)]} ms, max ${lags[lags.length - 1]} ms`);
  console.log(`(SYNC_DELAY_MS defaults to 250 ms: changes wait that long so bursts coalesce; Mattermost waits 2 s)\n`);
  for (const s of [A, B]) {
    const token = s === A ? adminA : adminB;
    console.log(`${s.name}: Swagger UI  ${s.url}/api/docs`);
    console.log(`${s.name}: Bull Board  ${s.url}/admin/queues?access_token=${token}`);
    console.log(`${s.name}: metrics     ${s.url}/metrics      (admin login: ${ADMIN.username} / ${ADMIN.password})`);
  }
  if (EXIT) {
    cleanup();
    return;
  }
  console.log('\nservers keep running; Ctrl-C stops them.');
  await new Promise(() => undefined);
}

main().catch((err) => {
  console.error(err);
  cleanup();
  process.exit(1);
});
