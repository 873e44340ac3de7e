import { floodPosts } from '../lib/load.js';
import { type Percentiles, percentiles, round } from '../lib/stats.js';
import { PostWatcher } from '../lib/watcher.js';
import { type Ctx, logSummary, peakRss, startCluster, stopCluster, warmUp, withLogs, type Cluster } from './common.js';

export interface ThroughputResult {
  posts: number;
  writers: number;
  sync_delay_ms: number;
  /** N / (last post visible on B - first post sent to A). */
  posts_per_s: number;
  /** N / (last answer from A - first post sent): how fast A's API took them. */
  write_posts_per_s: number;
  /** Last post visible on B - last answer from A: what was still queued when writing ended. */
  drain_tail_ms: number;
  /** Per post (visible on B) - (A answered), during the flood: queueing included. */
  lag_under_load_ms: Percentiles;
  rss_peak_mb: Record<string, number>;
  rss_idle_mb: Record<string, number>;
  server_log: Record<string, { lines: number; sample: string[] }>;
  /** The flood, in ms since each instance was spawned: what --profile summarises. */
  profile_windows: Record<string, { fromMs: number; toMs: number }>;
}

export async function runThroughput(ctx: Ctx): Promise<ThroughputResult> {
  const { opts, log } = ctx;
  let c: Cluster | undefined;
  try {
    c = await startCluster(ctx, 'thr', 1, {}, opts.profile);
    await warmUp(ctx, c, 'throughput');
    const { hub, remotes, channelId, writers } = c.setup;
    const watcher = new PostWatcher(remotes[0].db, channelId, 5);
    await watcher.start();
    log(`throughput: writing ${opts.posts} posts on A with ${opts.writers} concurrent clients...`);
    const flood = await floodPosts(hub.server.api, writers, channelId, opts.posts, opts.writers, 'throughput', (n) => {
      if (n % 5000 === 0) log(`throughput:   ${n} written, ${watcher.seen.size} on B`);
    });
    const writeRate = opts.posts / ((flood.finishedAt - flood.startedAt) / 1000);
    log(`throughput: A took ${opts.posts} posts at ${Math.round(writeRate)} posts/s; waiting for B...`);
    await watcher.waitForAll(
      flood.posts.map((p) => p.id),
      Math.max(120_000, opts.posts * 20),
      'throughput: posts reaching B',
    );
    await watcher.stop();
    const lastSeen = Math.max(...flood.posts.map((p) => watcher.seen.get(p.id)!));
    const rate = opts.posts / ((lastSeen - flood.startedAt) / 1000);
    const lag = percentiles(flood.posts.map((p) => watcher.seen.get(p.id)! - p.committedAt));
    log(`throughput: ${Math.round(rate)} posts/s A->B (A wrote at ${Math.round(writeRate)}/s, B finished ${Math.round(lastSeen - flood.finishedAt)} ms after the last write)`);
    const result: ThroughputResult = {
      posts: opts.posts,
      writers: opts.writers,
      sync_delay_ms: 250,
      posts_per_s: Math.round(rate),
      write_posts_per_s: Math.round(writeRate),
      drain_tail_ms: round(lastSeen - flood.finishedAt),
      lag_under_load_ms: lag,
      rss_peak_mb: peakRss(c),
      rss_idle_mb: c.idleRssMb,
      server_log: logSummary(c),
      profile_windows: Object.fromEntries(
        c.servers.map((s) => [s.label, { fromMs: Math.round(flood.startedAt - s.spawnedAt), toMs: Math.round(lastSeen - s.spawnedAt) }]),
      ),
    };
    return result;
  } catch (err) {
    throw c ? withLogs(err, c.servers) : err;
  } finally {
    await stopCluster(c);
  }
}
