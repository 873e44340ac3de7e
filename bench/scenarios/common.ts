import { backendPids, cpuBetween, type CpuSnapshot, snapshot } from '../lib/cpu.js';
import type { BenchOptions } from '../lib/options.js';
import { closeSides, setupShared, type SharedSetup } from '../lib/federation.js';
import { floodPosts } from '../lib/load.js';
import { ServerProcess } from '../lib/server-process.js';
import { round } from '../lib/stats.js';
import { PostWatcher } from '../lib/watcher.js';

export interface Ctx {
  runId: string;
  opts: BenchOptions;
  log: (msg: string) => void;
}

/** Users on the hub who write; their sessions are spread over the concurrent clients. */
export const WRITERS = 8;

export interface Cluster {
  servers: ServerProcess[];
  setup: SharedSetup;
  /** RSS of every instance right after set-up, before any load: the memory baseline. */
  idleRssMb: Record<string, number>;
}

/** Starts the hub "A" and `remotes` remotes "B", "C", ... as child processes and shares one channel among them. */
export async function startCluster(ctx: Ctx, scenario: string, remotes: number, env: Record<string, string> = {}, cpuProfile = false): Promise<Cluster> {
  const names = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I'].slice(0, remotes + 1);
  const t = Date.now();
  const servers = await Promise.all(names.map((name) => ServerProcess.launch({ name, scenario, runId: ctx.runId, env, cpuProfile, keep: ctx.opts.keep })));
  ctx.log(`${scenario}: ${names.join(', ')} started in ${((Date.now() - t) / 1000).toFixed(1)} s (pids ${servers.map((s) => s.pid).join(', ')})`);
  let setup: SharedSetup;
  try {
    setup = await setupShared(servers[0], servers.slice(1), { writers: WRITERS, offlineAfterMs: 3_000 });
  } catch (err) {
    throw withLogs(err, servers);
  }
  ctx.log(`${scenario}: connected and shared channel ${setup.channelId} with ${remotes} remote(s)`);
  const idleRssMb = Object.fromEntries(servers.map((s) => [s.name, round(s.rss.currentMb())]));
  return { servers, setup, idleRssMb };
}

export async function stopCluster(c: Cluster | undefined): Promise<void> {
  if (!c) return;
  await closeSides(c.setup);
  await Promise.all(c.servers.map((s) => s.stop()));
}

export function peakRss(c: Cluster): Record<string, number> {
  return Object.fromEntries(c.servers.map((s) => [s.name, round(s.rss.peakMb())]));
}

/** An error with every instance's last log lines (they run at LOG_LEVEL=warn) appended. */
export function withLogs(err: unknown, servers: ServerProcess[]): Error {
  const base = err instanceof Error ? err : new Error(String(err));
  if ((base as { withLogs?: boolean }).withLogs) return base;
  (base as { withLogs?: boolean }).withLogs = true;
  const logs = servers.map((s) => `--- ${s.label} (${s.logPath}) ---\n${s.logTail(15)}`).join('\n');
  base.message = `${base.message}\n${logs}`;
  return base;
}

/**
 * A few posts end to end before measuring: proves the pipeline works (a clear failure here beats a silent
 * timeout later) and warms every JIT and connection pool on the path.
 */
export async function warmUp(ctx: Ctx, c: Cluster, scenario: string, posts = 50): Promise<void> {
  const { hub, remotes, channelId, writers } = c.setup;
  const watchers = remotes.map((r) => new PostWatcher(r.db, channelId, 20));
  for (const w of watchers) await w.start();
  try {
    const { posts: written } = await floodPosts(hub.server.api, writers, channelId, posts, 4, 'warm-up');
    await Promise.all(watchers.map((w, i) => w.waitForAll(written.map((p) => p.id), 60_000, `${scenario}: warm-up posts reaching ${remotes[i].server.name}`)));
  } catch (err) {
    throw withLogs(err, c.servers);
  } finally {
    for (const w of watchers) await w.stop();
  }
  ctx.log(`${scenario}: warm-up: ${posts} posts reached ${remotes.map((r) => r.server.name).join(', ')}`);
}

/** Server log lines at warn or above, for the report (the bench runs them at LOG_LEVEL=warn). */
export function logSummary(c: Cluster): Record<string, { lines: number; sample: string[] }> {
  return Object.fromEntries(
    c.servers.map((s) => {
      const lines = s.logLines();
      return [s.name, { lines: lines.length, sample: lines.slice(0, 5).map((l) => l.slice(0, 400)) }];
    }),
  );
}

/** CPU used per instance (Node process and its PostgreSQL backends) and by the harness during one phase. */
export class PhaseCpu {
  private before: Array<{ key: string; snap: CpuSnapshot }> = [];
  private harnessBefore = process.cpuUsage();
  private startedAt = 0;

  constructor(private readonly c: Cluster) {}

  private async groups(): Promise<Array<{ key: string; pids: number[] }>> {
    const out: Array<{ key: string; pids: number[] }> = [];
    for (const s of this.c.servers) {
      out.push({ key: s.name, pids: s.pid ? [s.pid] : [] });
      out.push({ key: `pg_${s.name}`, pids: await backendPids(s.dbName) });
    }
    return out;
  }

  async start(): Promise<void> {
    this.before = (await this.groups()).map((g) => ({ key: g.key, snap: snapshot(g.pids) }));
    this.harnessBefore = process.cpuUsage();
    this.startedAt = Date.now();
  }

  /** CPU ms per group; `per` divides them (e.g. by the number of posts) when given. */
  async stop(per = 1): Promise<{ wall_ms: number; cpu_ms: Record<string, number>; busy_pct: Record<string, number> }> {
    const wall = Date.now() - this.startedAt;
    const after = await this.groups();
    const cpu: Record<string, number> = {};
    for (const g of after) {
      const before = this.before.find((b) => b.key === g.key)?.snap ?? { at: 0, byPid: new Map() };
      cpu[g.key] = cpuBetween(before, snapshot(g.pids));
    }
    const h = process.cpuUsage(this.harnessBefore);
    cpu.harness = (h.user + h.system) / 1000;
    return {
      wall_ms: wall,
      cpu_ms: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round(v / per, 2)])),
      busy_pct: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round((v / wall) * 100)])),
    };
  }
}
