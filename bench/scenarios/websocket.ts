import { WebSocket } from 'ws';
import { backendPids, cpuBetween, snapshot } from '../lib/cpu.js';
import { adminSide, type BenchUser, createChannel, login, type Side } from '../lib/federation.js';
import { pool, steadyPosts } from '../lib/load.js';
import { delta, scrape } from '../lib/metrics.js';
import { ServerProcess } from '../lib/server-process.js';
import { percentiles, type Percentiles, round } from '../lib/stats.js';
import { sleep } from '../lib/clock.js';
import type { Ctx } from './common.js';
import { withLogs } from './common.js';

export interface WebSocketResult {
  idle_connections: number;
  active_members: number;
  rate: number;
  duration_s: number;
  posts: number;
  failures: number;
  /** `posted` frames the members' sockets should get (posts x members) and what they got. */
  expected_deliveries: number;
  delivered: number;
  missing: number;
  duplicates: number;
  /** Socket receipt (harness clock) minus the post's create_at (server clock, same machine): from just before the commit to the socket. */
  latency_ms: Percentiles;
  /** The server's own histogram (websocket_event_delivery_seconds): commit to its frames written, mean. */
  server_write_mean_ms: number | null;
  /** RSS after the warm-up with no socket, then with the idle sockets open. */
  rss_before_connections_mb: number;
  rss_with_idle_connections_mb: number;
  rss_per_1000_connections_mb: number;
  /**
   * The same difference in the server's own V8 heap used + external memory (from its /metrics): RSS hides what fits
   * in heap pages already committed, this includes garbage not yet collected. Neither is exact; together they bound it.
   */
  heap_per_1000_connections_mb: number;
  rss_peak_mb: Record<string, number>;
  rss_idle_mb: Record<string, number>;
  /** Server process CPU (and its PostgreSQL backends) while posting at the same rate without and with the sockets. */
  cpu_ms_without_sockets: { server: number; pg: number };
  cpu_ms_with_sockets: { server: number; pg: number };
  /** (with - without) / delivered frames: what delivering one event to one socket costs the server. */
  cpu_us_per_delivered_event: number;
  /** Total server + PostgreSQL CPU with sockets / delivered frames (post writes included). */
  cpu_us_per_delivered_event_all_in: number;
  connect_s: number;
  server_log: { lines: number; sample: string[] };
}

interface Socket {
  ws: WebSocket;
  /** post id -> receipt times (epoch ms) of its posted frames. */
  seen: Map<string, number[]>;
}

/** A raw socket authenticated by header; resolves at hello. Active sockets record each posted frame's arrival. */
function openSocket(url: string, token: string, record: boolean): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` }, perMessageDeflate: false });
    const sock: Socket = { ws, seen: new Map() };
    const timer = setTimeout(() => reject(new Error('no hello within 30 s')), 30_000);
    ws.on('message', (data: Buffer) => {
      const at = Date.now();
      const text = data.toString();
      if (text.startsWith('{"event":"hello"')) {
        clearTimeout(timer);
        resolve(sock);
        return;
      }
      if (!record || !text.startsWith('{"event":"posted"')) return;
      const post = JSON.parse((JSON.parse(text) as { data: { post: string } }).data.post) as { id: string };
      const list = sock.seen.get(post.id);
      if (list) list.push(at);
      else sock.seen.set(post.id, [at]);
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function makeUsers(side: Side, prefix: string, n: number, channelId: string | undefined): Promise<BenchUser[]> {
  const api = side.server.api;
  const users: BenchUser[] = new Array(n);
  await pool(
    Array.from({ length: n }, (_, i) => i),
    16,
    async (i) => {
      const username = `${prefix}${i}`;
      const password = `${username}-Password-1`;
      const user = await api.ok<{ id: string }>('POST', '/api/v4/users', { token: side.token, body: { username, email: `${username}@example.com`, password } });
      if (channelId) {
        await api.ok('POST', `/api/v4/teams/${side.teamId}/members`, { token: side.token, body: { team_id: side.teamId, user_id: user.id } });
        await api.ok('POST', `/api/v4/channels/${channelId}/members`, { token: side.token, body: { user_id: user.id } });
      }
      users[i] = { id: user.id, username, token: await login(api, username, password) };
    },
  );
  return users;
}

/** CPU ms of the server process and of its PostgreSQL backends across `fn`. */
async function measureCpu<T>(server: ServerProcess, fn: () => Promise<T>): Promise<{ result: T; server: number; pg: number }> {
  const pids = await backendPids(server.dbName);
  const s0 = snapshot(server.pid ? [server.pid] : []);
  const p0 = snapshot(pids);
  const result = await fn();
  const pidsAfter = [...new Set([...pids, ...(await backendPids(server.dbName))])];
  return { result, server: cpuBetween(s0, snapshot(server.pid ? [server.pid] : [])), pg: cpuBetween(p0, snapshot(pidsAfter)) };
}

/**
 * One instance with `wsIdle` idle connections (users in no channel of the load) and `wsActive` members of one
 * channel, each with a socket. Posts go into the channel at a steady rate, twice: first with no socket connected
 * (what the writes cost alone), then with every socket connected. Reports the latency from create_at (stamped
 * just before the commit) to each member's socket, the RSS the idle connections add, and the CPU per delivered
 * event (the difference between the two runs divided by the frames delivered).
 */
export async function runWebSocket(ctx: Ctx): Promise<WebSocketResult> {
  const { opts, log } = ctx;
  const { idle, active, rate, durationS } = opts.websocket;
  const server = await ServerProcess.launch({ name: 'W', scenario: 'ws', runId: ctx.runId, keep: opts.keep });
  const sockets: Socket[] = [];
  let side: Side | undefined;
  try {
    side = await adminSide(server);
    const channelId = await createChannel(side, 'ws-bench');
    let t = Date.now();
    const [members, idlers] = await Promise.all([makeUsers(side, 'member', active, channelId), makeUsers(side, 'idler', idle, undefined)]);
    log(`websocket: ${active} channel members and ${idle} idle users created in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const writers = members.slice(0, Math.min(8, members.length));

    // Warm the write path, then the same load with no socket at all: what posting costs without the WebSocket.
    await steadyPosts(server.api, writers, channelId, rate, Math.min(5, durationS), 'ws-warm');
    await sleep(500);
    const rssIdle = server.rss.currentMb();
    const without = await measureCpu(server, () => steadyPosts(server.api, writers, channelId, rate, durationS, 'ws-alone'));
    log(`websocket: ${without.result.posts.length} posts without sockets: server ${round(without.server)} ms CPU, PostgreSQL ${round(without.pg)} ms`);

    const url = `${server.url.replace(/^http/, 'ws')}/api/v4/websocket`;
    const heapOf = (m: Awaited<ReturnType<typeof scrape>>) => (m.get('nodejs_heap_size_used_bytes')?.value ?? 0) + (m.get('nodejs_external_memory_bytes')?.value ?? 0);
    const heapBefore = heapOf(await scrape(server.api));
    t = Date.now();
    await pool(idlers, 32, async (u) => void sockets.push(await openSocket(url, u.token, false)));
    const connectS = (Date.now() - t) / 1000;
    await sleep(2_000);
    const rssIdleConns = server.rss.currentMb();
    const heapAfter = heapOf(await scrape(server.api));
    log(`websocket: ${idle} idle sockets open in ${connectS.toFixed(1)} s; RSS ${round(rssIdle)} -> ${round(rssIdleConns)} MB, heap + external +${round((heapAfter - heapBefore) / 1024 / 1024)} MB`);
    const memberSockets: Socket[] = [];
    await pool(members, 32, async (u) => void memberSockets.push(await openSocket(url, u.token, true)));
    sockets.push(...memberSockets);

    const before = await scrape(server.api);
    const withSockets = await measureCpu(server, async () => {
      const run = await steadyPosts(server.api, writers, channelId, rate, durationS, 'ws-live');
      const ids = run.posts.map((p) => p.id);
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && memberSockets.some((s) => ids.some((id) => !s.seen.has(id)))) await sleep(20);
      return run;
    });
    const after = await scrape(server.api);
    const run = withSockets.result;
    const latencies: number[] = [];
    let delivered = 0;
    let missing = 0;
    let duplicates = 0;
    for (const s of memberSockets) {
      for (const p of run.posts) {
        const times = s.seen.get(p.id);
        if (!times) {
          missing++;
          continue;
        }
        delivered++;
        duplicates += times.length - 1;
        latencies.push(times[0] - p.createAt);
      }
    }
    const latency = percentiles(latencies);
    const frames = Math.max(1, delivered);
    const extraCpu = withSockets.server + withSockets.pg - (without.server + without.pg);
    const sum = delta(before, after, 'websocket_event_delivery_seconds_sum');
    const count = delta(before, after, 'websocket_event_delivery_seconds_count');
    log(
      `websocket: ${run.posts.length} posts to ${active} members: delivery p50 ${latency.p50} ms, p99 ${latency.p99} ms; ${missing} missing, ${duplicates} duplicates; ` +
        `${round((extraCpu * 1000) / frames, 1)} µs CPU per delivered event`,
    );
    const lines = server.logLines();
    return {
      idle_connections: idle,
      active_members: active,
      rate,
      duration_s: durationS,
      posts: run.posts.length,
      failures: run.failures,
      expected_deliveries: run.posts.length * memberSockets.length,
      delivered,
      missing,
      duplicates,
      latency_ms: latency,
      server_write_mean_ms: count ? round((sum / count) * 1000, 2) : null,
      rss_before_connections_mb: round(rssIdle),
      rss_with_idle_connections_mb: round(rssIdleConns),
      rss_per_1000_connections_mb: round(((rssIdleConns - rssIdle) * 1000) / Math.max(1, idle)),
      heap_per_1000_connections_mb: round(((heapAfter - heapBefore) / 1024 / 1024) * (1000 / Math.max(1, idle))),
      rss_peak_mb: { W: round(server.rss.peakMb()) },
      rss_idle_mb: { W: round(rssIdle) },
      cpu_ms_without_sockets: { server: round(without.server), pg: round(without.pg) },
      cpu_ms_with_sockets: { server: round(withSockets.server), pg: round(withSockets.pg) },
      cpu_us_per_delivered_event: round((extraCpu * 1000) / frames, 2),
      cpu_us_per_delivered_event_all_in: round(((withSockets.server + withSockets.pg) * 1000) / frames, 2),
      connect_s: round(connectS, 2),
      server_log: { lines: lines.length, sample: lines.slice(0, 5).map((l) => l.slice(0, 400)) },
    };
  } catch (err) {
    throw withLogs(err, [server]);
  } finally {
    for (const s of sockets) s.ws.terminate();
    await side?.db.end().catch(() => undefined);
    await server.stop();
  }
}
