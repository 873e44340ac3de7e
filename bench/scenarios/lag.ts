import { type LagBreakdown, lagBreakdown } from '../lib/lag-breakdown.js';
import { steadyPosts } from '../lib/load.js';
import { scrape, type SyncStages, syncStages } from '../lib/metrics.js';
import { type Percentiles, percentiles, perSecond, type SeriesPoint } from '../lib/stats.js';
import { PostWatcher } from '../lib/watcher.js';
import { type Cluster, type Ctx, logSummary, PhaseCpu, peakRss, startCluster, stopCluster, warmUp, withLogs } from './common.js';

export const LAG_POLL_MS = 2;

export interface LagResult {
  sync_delay_ms: number;
  rate: number;
  duration_s: number;
  posts: number;
  failures: number;
  /** (first visible on B) - (A's POST /api/v4/posts answered). */
  lag_ms: Percentiles;
  /** (first visible on B) - A's create_at (stamped before A's commit, so a little larger). */
  lag_from_create_at_ms: Percentiles;
  /** How late the open-loop writer ever was against its schedule (a harness health check). */
  writer_max_behind_ms: number;
  series: SeriesPoint[];
  poll_interval_ms: number;
  /** Sync passes and the receiver's handling time per message during the steady run, from both servers' /metrics. */
  stages: SyncStages;
  /** CPU use during the steady run (per post, and as % of one core). */
  cpu_ms_per_post: Record<string, number>;
  busy_pct: Record<string, number>;
  rss_peak_mb: Record<string, number>;
  rss_idle_mb: Record<string, number>;
  server_log: Record<string, { lines: number; sample: string[] }>;
  /** Where the time from A's create_at to B's commit went, per post (see lag-breakdown.ts). */
  breakdown: LagBreakdown | null;
}

/** A steady rate from A and the per-post lag to B, with SYNC_DELAY_MS = `delayMs` (undefined: the server's default). */
export async function runLag(ctx: Ctx, delayMs: number | undefined, scenario: string): Promise<LagResult> {
  const { opts, log } = ctx;
  let c: Cluster | undefined;
  const env: Record<string, string> = delayMs === undefined ? {} : { SYNC_DELAY_MS: String(delayMs) };
  const effectiveDelay = delayMs ?? 250;
  try {
    c = await startCluster(ctx, scenario, 1, env);
    await warmUp(ctx, c, scenario);
    const { hub, remotes, channelId, writers } = c.setup;
    const watcher = new PostWatcher(remotes[0].db, channelId, LAG_POLL_MS);
    await watcher.start();
    const [aBefore, bBefore] = [await scrape(hub.server.api), await scrape(remotes[0].server.api)];
    const cpu = new PhaseCpu(c);
    await cpu.start();
    const started = Date.now();
    log(`${scenario}: SYNC_DELAY_MS=${effectiveDelay}: ${opts.rate} posts/s for ${opts.durationS} s...`);
    const run = await steadyPosts(hub.server.api, writers, channelId, opts.rate, opts.durationS, scenario);
    await watcher.waitForAll(
      run.posts.map((p) => p.id),
      60_000,
      `${scenario}: steady posts reaching B`,
    );
    const used = await cpu.stop(Math.max(1, run.posts.length));
    const stages = syncStages(
      { before: aBefore, after: await scrape(hub.server.api) },
      { before: bBefore, after: await scrape(remotes[0].server.api) },
      Date.now() - started,
    );
    await watcher.stop();
    let breakdown: LagBreakdown | null = null;
    try {
      breakdown = await lagBreakdown({ queuePrefix: hub.server.queuePrefix, aDb: hub.db, bDb: remotes[0].db, posts: run.posts, seen: watcher.seen });
      log(`${scenario}: breakdown over ${breakdown.posts} posts (mean ms): ${breakdown.stages.map((s) => s.mean_ms).join(' + ')} = ${breakdown.total_mean_ms}`);
    } catch (err) {
      log(`${scenario}: no lag breakdown: ${(err as Error).message}`);
    }
    const samples = run.posts.map((p) => ({ at: p.committedAt, value: watcher.seen.get(p.id)! - p.committedAt }));
    const lag = percentiles(samples.map((s) => s.value));
    log(`${scenario}: lag p50 ${lag.p50} ms, p95 ${lag.p95} ms, p99 ${lag.p99} ms (${lag.n} posts, ${run.failures} failed writes)`);
    return {
      sync_delay_ms: effectiveDelay,
      rate: opts.rate,
      duration_s: opts.durationS,
      posts: run.posts.length,
      failures: run.failures,
      lag_ms: lag,
      lag_from_create_at_ms: percentiles(run.posts.map((p) => watcher.seen.get(p.id)! - p.createAt)),
      writer_max_behind_ms: Math.round(run.behindMs * 10) / 10,
      series: perSecond(samples, run.t0),
      poll_interval_ms: LAG_POLL_MS,
      stages,
      cpu_ms_per_post: used.cpu_ms,
      busy_pct: used.busy_pct,
      rss_peak_mb: peakRss(c),
      rss_idle_mb: c.idleRssMb,
      server_log: logSummary(c),
      breakdown,
    };
  } catch (err) {
    throw c ? withLogs(err, c.servers) : err;
  } finally {
    await stopCluster(c);
  }
}
