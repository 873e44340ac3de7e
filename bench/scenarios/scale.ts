import { randomBytes } from 'node:crypto';
import { now, sleep } from '../lib/clock.js';
import { backendPids, cpuBetween, type CpuSnapshot, snapshot } from '../lib/cpu.js';
import { adminSide, closeSides, connect, createChannel, type Side, until, waitOnline } from '../lib/federation.js';
import { pool } from '../lib/load.js';
import { delta, scrape, type Scrape } from '../lib/metrics.js';
import { ServerProcess } from '../lib/server-process.js';
import { monitorCommands, pgTransactions, redisStats } from '../lib/service-stats.js';
import { type Percentiles, percentiles, round } from '../lib/stats.js';
import { IdWatcher } from '../lib/watcher.js';
import { type Ctx, withLogs } from './common.js';

/** One point of the many-channels curve: the same total write rate, spread Zipf-like over `channels` shared channels. */
export interface ScalePoint {
  channels: number;
  posts: number;
  rate: number;
  duration_s: number;
  failures: number;
  /** CPU ms per post written on A and delivered to every remote: each server, all their PostgreSQL backends, Redis, and the sum. */
  cpu_ms_per_post: Record<string, number>;
  /** Redis commands per post (the whole Redis server's total_commands_processed). */
  redis_cmds_per_post: number;
  /** Sync-queue jobs run (all servers, shared_channels_sync_jobs_total) per post, and sync passes per post. */
  jobs_per_post: number;
  passes_per_post: number;
  /** PostgreSQL transactions (autocommit statements count one each) of all the servers' databases per post. */
  pg_xacts_per_post: number;
  /** (visible on a remote) - (A answered), over every remote. */
  lag_ms: Percentiles;
  /** Posts of the busiest channel / posts (how skewed the Zipf draw was). */
  busiest_share: number;
}

export interface IdleResult {
  channels: number;
  remotes: number;
  /** Of them, real server processes (each holds one connection to A). */
  remote_processes: number;
  duration_s: number;
  /** % of one core over the window: A, A's PostgreSQL backends, Redis (the whole server); the remotes beside. */
  cpu_pct: { A: number; pg: number; redis: number; remotes_max: number; pg_remotes_max: number };
  /**
   * Commands touching A's keys (MONITOR, after the CPU window: in a real deployment every server has its own Redis),
   * the top ones by name, and the busiest remote's.
   */
  redis_cmds_per_s: number;
  redis_top_commands: Record<string, number>;
  redis_cmds_per_s_remote_max: number;
  /** total_commands_processed of the whole Redis server over the CPU window (other users of that Redis included). */
  redis_server_cmds_per_s: number;
  /** xact_commit + xact_rollback of A's database per second (every autocommit statement is one transaction). */
  pg_statements_per_s: number;
  /** The same over all the cluster's databases. */
  pg_statements_per_s_all: number;
  /** Sync-queue jobs per second on A, by job name. */
  jobs_per_s: Record<string, number>;
  how: string;
}

export interface ScaleResult {
  remotes: number;
  rate: number;
  sync_delay_ms: number;
  points: ScalePoint[];
  /** Channels created and shared with every remote through the API, per second. */
  share_channels_per_s: number;
  idle: IdleResult | null;
}

const NAMES = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L'];

/** Server defaults for the heartbeat (the other scenarios shorten it to notice a restart within a second). */
const DEFAULT_HEARTBEAT = { PING_INTERVAL_MS: '60000', REMOTE_OFFLINE_AFTER_MS: '300000' };

interface ScaleCluster {
  servers: ServerProcess[];
  hub: Side;
  remotes: Side[];
  remoteIds: string[];
  channels: string[];
}

async function launch(ctx: Ctx, scenario: string, names: string[], env: Record<string, string>): Promise<ServerProcess[]> {
  const t = Date.now();
  const servers = await Promise.all(names.map((name) => ServerProcess.launch({ name, scenario, runId: ctx.runId, env, keep: ctx.opts.keep })));
  ctx.log(`${scenario}: ${names.join(', ')} started in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return servers;
}

/** Connects more remotes to the hub (through the API, as everywhere). */
async function addRemotes(c: ScaleCluster, servers: ServerProcess[], offlineAfterMs: number): Promise<void> {
  const sides = await Promise.all(servers.map(adminSide));
  for (const r of sides) {
    const id = await connect(c.hub, r);
    await waitOnline([c.hub, r], id, offlineAfterMs);
    c.remotes.push(r);
    c.remoteIds.push(id);
    c.servers.push(r.server);
  }
}

/** Shares `channels` with `remotes` through the API (invite per pair) and waits until every remote has them all. */
export async function shareAll(hub: Side, remotes: Side[], remoteIds: string[], channels: string[]): Promise<void> {
  const pairs = remotes.flatMap((_, i) => channels.map((ch) => ({ i, ch })));
  await pool(pairs, 16, async ({ i, ch }) => {
    await hub.server.api.ok('POST', `/api/v4/remotecluster/${remoteIds[i]}/channels/${ch}/invite`, { token: hub.token, timeoutMs: 60_000 });
  });
  for (const r of remotes) {
    await until(
      `${channels.length} channels shared on ${r.server.name}`,
      async () => {
        const { rows } = await r.db.query<{ n: number }>('SELECT count(*)::int AS n FROM shared_channels WHERE channel_id = ANY($1::varchar[])', [channels]);
        return rows[0].n === channels.length ? true : undefined;
      },
      120_000,
      100,
    );
  }
}

async function growTo(c: ScaleCluster, n: number): Promise<void> {
  const fresh: string[] = [];
  const prefix = randomBytes(3).toString('hex');
  await pool(
    Array.from({ length: n - c.channels.length }, (_, i) => i),
    8,
    async (i) => {
      fresh.push(await createChannel(c.hub, `scale-${prefix}-${c.channels.length + i}`));
    },
  );
  await shareAll(c.hub, c.remotes, c.remoteIds, fresh);
  c.channels.push(...fresh);
}

/** Zipf (s = 1) over n channels: channel k is written with probability ∝ 1/k. */
function zipf(n: number): () => number {
  const cum: number[] = [];
  let total = 0;
  for (let k = 1; k <= n; k++) cum.push((total += 1 / k));
  return () => {
    const x = Math.random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const jobsOf = (before: Scrape, after: Scrape, name?: string) => delta(before, after, 'shared_channels_sync_jobs_total', (l) => !name || l.name === name);
const passesOf = (before: Scrape, after: Scrape) => delta(before, after, 'shared_channels_sync_counter');

/** The PostgreSQL backends of the harness's own connections (its pollers): not the servers' work. */
async function harnessPids(c: ScaleCluster): Promise<Set<number>> {
  const out = new Set<number>();
  for (const side of [c.hub, ...c.remotes]) {
    const { rows } = await side.db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    out.add(rows[0].pid);
  }
  return out;
}

/** CPU ms of each server process, all their PostgreSQL backends but the harness's (as "pg"), between start and stop. */
class ServersCpu {
  private before: { procs: CpuSnapshot; pg: CpuSnapshot } | undefined;

  constructor(
    private readonly servers: ServerProcess[],
    private readonly exclude: Set<number>,
  ) {}

  private async pgPids(): Promise<number[]> {
    const all = await Promise.all(this.servers.map((s) => backendPids(s.dbName)));
    return all.flat().filter((p) => !this.exclude.has(p));
  }

  async start(): Promise<void> {
    this.before = { procs: snapshot(this.servers.map((s) => s.pid!)), pg: snapshot(await this.pgPids()) };
  }

  async stop(): Promise<Record<string, number>> {
    const procs = snapshot(this.servers.map((s) => s.pid!));
    const pg = snapshot(await this.pgPids());
    const out: Record<string, number> = {};
    for (const s of this.servers) out[s.name] = (procs.byPid.get(s.pid!) ?? 0) - (this.before!.procs.byPid.get(s.pid!) ?? 0);
    out.pg_all = cpuBetween(this.before!.pg, pg);
    return out;
  }
}

async function measurePoint(ctx: Ctx, c: ScaleCluster, rate: number, durationS: number): Promise<ScalePoint> {
  const n = c.channels.length;
  const pick = zipf(n);
  const watchers = c.remotes.map((r) => new IdWatcher(r.db, 5));
  for (const w of watchers) w.start();
  const dbs = c.servers.map((s) => s.dbName);
  const scrapes0 = await Promise.all(c.servers.map((s) => scrape(s.api)));
  const cpu = new ServersCpu(c.servers, await harnessPids(c));
  await cpu.start();
  const [redis0, pg0] = [await redisStats(), await pgTransactions(dbs)];
  const total = Math.round(rate * durationS);
  const posts: Array<{ id: string; at: number }> = [];
  const perChannel = new Map<number, number>();
  let failures = 0;
  const inflight: Promise<void>[] = [];
  const t0 = now() + 20;
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    if (due - now() > 1) await sleep(due - now() - 0.5);
    const k = pick();
    perChannel.set(k, (perChannel.get(k) ?? 0) + 1);
    inflight.push(
      c.hub.server.api
        .ok<{ id: string }>('POST', '/api/v4/posts', { token: c.hub.token, body: { channel_id: c.channels[k], message: `scale post ${i} to channel ${k} of ${n}` } })
        .then(
          (p) => {
            const at = now();
            posts.push({ id: p.id, at });
            for (const w of watchers) w.add(p.id);
          },
          () => void failures++,
        ),
    );
  }
  await Promise.all(inflight);
  const ids = posts.map((p) => p.id);
  try {
    for (let i = 0; i < watchers.length; i++) await watchers[i].waitForAll(ids, 120_000, `scale ${n}: posts reaching ${c.remotes[i].server.name}`);
  } finally {
    for (const w of watchers) await w.stop();
  }
  const used = await cpu.stop();
  // The harness's own polls are transactions in the remotes' databases too: not the servers' work.
  const harnessXacts = watchers.reduce((a, w) => a + w.polls, 0);
  const [redis1, pg1] = [await redisStats(), await pgTransactions(dbs)];
  const scrapes1 = await Promise.all(c.servers.map((s) => scrape(s.api)));
  const per = Math.max(1, posts.length);
  const cpuMs: Record<string, number> = {};
  let pg = 0;
  let sum = 0;
  for (const [k, v] of Object.entries(used)) {
    sum += v;
    if (k.startsWith('pg_')) pg += v;
    else cpuMs[k] = round(v / per, 3);
  }
  const redisCpu = redis1.cpuMs - redis0.cpuMs;
  cpuMs.pg = round(pg / per, 3);
  cpuMs.redis = round(redisCpu / per, 3);
  cpuMs.total = round((sum + redisCpu) / per, 3);
  const lags = posts.flatMap((p) => watchers.map((w) => w.seen.get(p.id)! - p.at));
  const jobs = c.servers.reduce((a, _, i) => a + jobsOf(scrapes0[i], scrapes1[i]), 0);
  const passes = passesOf(scrapes0[0], scrapes1[0]);
  const xacts = dbs.reduce((a, d) => a + ((pg1[d] ?? 0) - (pg0[d] ?? 0)), 0) - harnessXacts;
  return {
    channels: n,
    posts: posts.length,
    rate,
    duration_s: durationS,
    failures,
    cpu_ms_per_post: cpuMs,
    redis_cmds_per_post: round((redis1.commands - redis0.commands - 2) / per, 1),
    jobs_per_post: round(jobs / per, 2),
    passes_per_post: round(passes / per, 2),
    pg_xacts_per_post: round(xacts / per, 1),
    lag_ms: percentiles(lags),
    busiest_share: round(Math.max(...perChannel.values()) / per, 2),
  };
}

async function measureIdle(ctx: Ctx, c: ScaleCluster, durationS: number, remoteProcesses: number): Promise<IdleResult> {
  const A = c.servers[0];
  // Let what the shares started (first syncs, channel details) finish: no sync-channel job on A for 3 s.
  let last = -1;
  let stableSince = Date.now();
  await until(
    "A's sync jobs to stop after the shares",
    async () => {
      const n = jobsOf(new Map(), await scrape(A.api), 'sync-channel');
      if (n !== last) {
        last = n;
        stableSince = Date.now();
      }
      return Date.now() - stableSince >= 3_000 ? true : undefined;
    },
    300_000,
    500,
  );
  const dbs = c.servers.map((s) => s.dbName);
  const procs0 = snapshot(c.servers.map((s) => s.pid!));
  const mine = await harnessPids(c);
  const serverBackends = async (db: string) => (await backendPids(db)).filter((p) => !mine.has(p));
  const pgPids = await Promise.all(c.servers.map((s) => serverBackends(s.dbName)));
  const pg0 = pgPids.map((p) => snapshot(p));
  const [redis0, x0, a0] = [await redisStats(), await pgTransactions(dbs), await scrape(A.api)];
  const t = Date.now();
  ctx.log(`idle: ${c.channels.length} channels, ${c.remotes.length} remotes, nothing changing, for ${durationS} s...`);
  await sleep(durationS * 1000);
  const wall = Date.now() - t;
  const procs1 = snapshot(c.servers.map((s) => s.pid!));
  const pgPidsAfter = await Promise.all(c.servers.map((s) => serverBackends(s.dbName)));
  const [redis1, x1, a1] = [await redisStats(), await pgTransactions(dbs), await scrape(A.api)];
  const pct = (ms: number) => round((ms / wall) * 100, 2);
  const procPct = c.servers.map((s) => pct((procs1.byPid.get(s.pid!) ?? 0) - (procs0.byPid.get(s.pid!) ?? 0)));
  const pgPct = c.servers.map((_, i) => pct(cpuBetween(pg0[i], snapshot(pgPidsAfter[i]))));
  const xacts = (d: string) => (x1[d] ?? 0) - (x0[d] ?? 0);
  const monitorMs = Math.min(15_000, durationS * 500);
  const mons = await monitorCommands(
    c.servers.map((x) => `${x.queuePrefix}:`),
    monitorMs,
  );
  const mon = mons[0];
  const jobNames = [...new Set([...a1.values()].filter((s) => s.name === 'shared_channels_sync_jobs_total').map((s) => s.labels.name))];
  return {
    channels: c.channels.length,
    remotes: c.remotes.length,
    remote_processes: remoteProcesses,
    duration_s: round(wall / 1000, 1),
    cpu_pct: { A: procPct[0], pg: pgPct[0], redis: pct(redis1.cpuMs - redis0.cpuMs), remotes_max: Math.max(...procPct.slice(1)), pg_remotes_max: Math.max(...pgPct.slice(1)) },
    redis_cmds_per_s: round(mon.total / (monitorMs / 1000), 1),
    redis_top_commands: Object.fromEntries(
      Object.entries(mon.byCommand)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([k, v]) => [k, round(v / (monitorMs / 1000), 1)]),
    ),
    redis_cmds_per_s_remote_max: round(Math.max(...mons.slice(1).map((m) => m.total)) / (monitorMs / 1000), 1),
    redis_server_cmds_per_s: round((redis1.commands - redis0.commands - 2) / (wall / 1000), 1),
    pg_statements_per_s: round(xacts(A.dbName) / (wall / 1000), 1),
    pg_statements_per_s_all: round(dbs.reduce((a, d) => a + xacts(d), 0) / (wall / 1000), 1),
    jobs_per_s: Object.fromEntries(jobNames.map((n) => [n, round(jobsOf(a0, a1, n) / (wall / 1000), 2)])),
    how:
      'every remote a real server process with its own connection to A, every channel shared with every remote through the API; server defaults for the heartbeat (60 s) and the sweep (30 s); Redis figures are the whole Redis server, PostgreSQL statements are xact_commit + xact_rollback of pg_stat_database (no pg_stat_statements)',
  };
}

/**
 * Many channels: A and 3 remotes, the same total write rate spread Zipf-like over 1, 10, 100 and 1,000 shared channels
 * (grown in place between points); then the idle cost of the largest set with more remotes connected, nothing changing.
 */
export async function runScale(ctx: Ctx): Promise<ScaleResult> {
  const { opts, log } = ctx;
  const s = opts.scale;
  const c: ScaleCluster = { servers: [], hub: undefined as unknown as Side, remotes: [], remoteIds: [], channels: [] };
  try {
    c.servers = await launch(ctx, 'scale', NAMES.slice(0, s.remotes + 1), DEFAULT_HEARTBEAT);
    const [hub] = await Promise.all([adminSide(c.servers[0])]);
    c.hub = hub;
    const remoteServers = c.servers.slice(1);
    c.servers = [c.servers[0]];
    await addRemotes(c, remoteServers, 300_000);
    const points: ScalePoint[] = [];
    let shareS = 0;
    let shared = 0;
    for (const n of s.points) {
      const t = Date.now();
      const added = n - c.channels.length;
      await growTo(c, n);
      shareS += (Date.now() - t) / 1000;
      shared += added;
      log(`scale: ${n} channels shared with ${c.remotes.length} remotes (${added} more in ${((Date.now() - t) / 1000).toFixed(1)} s); ${s.rate} posts/s for ${s.durationS} s...`);
      // A short unmeasured run: the new channels' first passes (users, details) are not what the point measures.
      await measurePoint(ctx, c, s.rate, Math.min(ctx.opts.quick ? 2 : 3, s.durationS));
      const p = await measurePoint(ctx, c, s.rate, s.durationS);
      points.push(p);
      log(
        `scale: ${n} channels: CPU ms per post ${Object.entries(p.cpu_ms_per_post).map(([k, v]) => `${k} ${v}`).join(', ')}; Redis cmds/post ${p.redis_cmds_per_post}; jobs/post ${p.jobs_per_post}; pg xacts/post ${p.pg_xacts_per_post}; lag p50 ${p.lag_ms.p50} ms, p99 ${p.lag_ms.p99} ms`,
      );
    }
    let idle: IdleResult | null = null;
    if (s.idleRemotes > c.remotes.length) {
      const extra = await launch(ctx, 'scale', NAMES.slice(c.remotes.length + 1, s.idleRemotes + 1), DEFAULT_HEARTBEAT);
      const before = c.remotes.length;
      await addRemotes(c, extra, 300_000);
      const t = Date.now();
      await shareAll(c.hub, c.remotes.slice(before), c.remoteIds.slice(before), c.channels);
      log(`idle: ${c.channels.length} channels shared with ${c.remotes.length - before} more remotes in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    idle = await measureIdle(ctx, c, s.idleS, c.remotes.length);
    log(
      `idle: CPU % A ${idle.cpu_pct.A}, pg ${idle.cpu_pct.pg}, Redis ${idle.cpu_pct.redis} (remotes at most ${idle.cpu_pct.remotes_max}); Redis ${idle.redis_cmds_per_s} cmds/s on A's keys (busiest remote ${idle.redis_cmds_per_s_remote_max}; ${JSON.stringify(idle.redis_top_commands)}; server total ${idle.redis_server_cmds_per_s}/s); A's PostgreSQL ${idle.pg_statements_per_s} statements/s; jobs/s ${JSON.stringify(idle.jobs_per_s)}`,
    );
    return { remotes: s.remotes, rate: s.rate, sync_delay_ms: 250, points, share_channels_per_s: round(shared / Math.max(0.001, shareS), 1), idle };
  } catch (err) {
    throw withLogs(err, c.servers);
  } finally {
    await closeSides(c.hub ? { hub: c.hub, remotes: c.remotes, remoteIds: [], channelId: '', writers: [], remoteMembers: [] } : undefined);
    await Promise.all(c.servers.map((x) => x.stop()));
  }
}
