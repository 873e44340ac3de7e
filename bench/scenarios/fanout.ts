import { floodPosts, steadyPosts } from '../lib/load.js';
import { type Percentiles, percentiles } from '../lib/stats.js';
import { PostWatcher } from '../lib/watcher.js';
import { type Cluster, type Ctx, logSummary, PhaseCpu, peakRss, startCluster, stopCluster, warmUp, withLogs } from './common.js';
import { LAG_POLL_MS } from './lag.js';

export interface FanoutRemote {
  remote: string;
  /** N / (last post visible on this remote - first post sent to A), during the flood. */
  posts_per_s: number;
  /** Steady-rate phase: (visible on this remote) - (A answered). */
  lag_p50_ms: number;
  lag_ms: Percentiles;
  lag_under_load_ms: Percentiles;
}

export interface FanoutResult {
  remotes: number;
  posts: number;
  write_posts_per_s: number;
  lag_rate: number;
  lag_duration_s: number;
  fanout: FanoutRemote[];
  cpu_ms_per_post: Record<string, number>;
  busy_pct: Record<string, number>;
  rss_peak_mb: Record<string, number>;
  rss_idle_mb: Record<string, number>;
  server_log: Record<string, { lines: number; sample: string[] }>;
}

export async function runFanout(ctx: Ctx): Promise<FanoutResult> {
  const { opts, log } = ctx;
  let c: Cluster | undefined;
  try {
    c = await startCluster(ctx, 'fan', opts.remotes);
    await warmUp(ctx, c, 'fan-out');
    const { hub, remotes, channelId, writers } = c.setup;

    // Throughput: the flood, watched on every remote at once.
    let watchers = remotes.map((r) => new PostWatcher(r.db, channelId, 5));
    for (const w of watchers) await w.start();
    const cpu = new PhaseCpu(c);
    await cpu.start();
    log(`fan-out: writing ${opts.posts} posts on A for ${remotes.length} remotes...`);
    const flood = await floodPosts(hub.server.api, writers, channelId, opts.posts, opts.writers, 'fan-out');
    const ids = flood.posts.map((p) => p.id);
    await Promise.all(watchers.map((w, i) => w.waitForAll(ids, Math.max(180_000, opts.posts * 30), `fan-out: posts reaching ${remotes[i].server.name}`)));
    const used = await cpu.stop(opts.posts);
    for (const w of watchers) await w.stop();
    const perRemote = remotes.map((r, i) => {
      const lastSeen = Math.max(...ids.map((id) => watchers[i].seen.get(id)!));
      return {
        remote: r.server.name,
        posts_per_s: Math.round(opts.posts / ((lastSeen - flood.startedAt) / 1000)),
        lag_under_load_ms: percentiles(flood.posts.map((p) => watchers[i].seen.get(p.id)! - p.committedAt)),
      };
    });
    log(`fan-out: ${perRemote.map((r) => `${r.remote} ${r.posts_per_s} posts/s`).join(', ')}`);

    // Lag: a steady rate, watched on every remote.
    watchers = remotes.map((r) => new PostWatcher(r.db, channelId, LAG_POLL_MS));
    for (const w of watchers) await w.start();
    const run = await steadyPosts(hub.server.api, writers, channelId, opts.rate, opts.fanoutLagS, 'fan-out');
    const steadyIds = run.posts.map((p) => p.id);
    await Promise.all(watchers.map((w, i) => w.waitForAll(steadyIds, 60_000, `fan-out: steady posts reaching ${remotes[i].server.name}`)));
    for (const w of watchers) await w.stop();
    const fanout: FanoutRemote[] = perRemote.map((r, i) => {
      const lag = percentiles(run.posts.map((p) => watchers[i].seen.get(p.id)! - p.committedAt));
      return { remote: r.remote, posts_per_s: r.posts_per_s, lag_p50_ms: lag.p50, lag_ms: lag, lag_under_load_ms: r.lag_under_load_ms };
    });
    log(`fan-out: lag p50 ${fanout.map((r) => `${r.remote} ${r.lag_p50_ms} ms`).join(', ')} at ${opts.rate} posts/s`);
    return {
      remotes: remotes.length,
      posts: opts.posts,
      write_posts_per_s: Math.round(opts.posts / ((flood.finishedAt - flood.startedAt) / 1000)),
      lag_rate: opts.rate,
      lag_duration_s: opts.fanoutLagS,
      fanout,
      cpu_ms_per_post: used.cpu_ms,
      busy_pct: used.busy_pct,
      rss_peak_mb: peakRss(c),
      rss_idle_mb: c.idleRssMb,
      server_log: logSummary(c),
    };
  } catch (err) {
    throw c ? withLogs(err, c.servers) : err;
  } finally {
    await stopCluster(c);
  }
}
