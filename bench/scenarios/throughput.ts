import { createChannel } from '../lib/federation.js';
import { floodPosts } from '../lib/load.js';
import { MemoryAtPeak, memoryOf, scrape, type SyncStages, syncStages } from '../lib/metrics.js';
import { type Percentiles, percentiles, round } from '../lib/stats.js';
import { PostWatcher } from '../lib/watcher.js';
import { type Cluster, type Ctx, logSummary, PhaseCpu, peakRss, startCluster, stopCluster, warmUp, withLogs } from './common.js';

/** The same flood into a channel that is not shared: what A's API costs with no sync work behind it. */
export interface ApiOnlyResult {
  posts: number;
  posts_per_s: number;
  cpu_ms_per_post: Record<string, number>;
  busy_pct: Record<string, number>;
}

export interface ThroughputResult {
  api_only: ApiOnlyResult;
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
  /**
   * CPU per post during the flood (until B had them all) for each server process, its PostgreSQL backends and
   * the harness: independent of what else runs on the machine, and 1000 / (ms per post) bounds the rate a
   * single-threaded Node process can reach.
   */
  cpu_ms_per_post: Record<string, number>;
  busy_pct: Record<string, number>;
  /** Where the flood window went, from A's and B's own /metrics. */
  stages: SyncStages;
  /** Each instance's memory at its largest sampled RSS during the flood (every 2 s) and right after it. */
  memory_at_peak: Record<string, ReturnType<typeof memoryOf> | null>;
  memory_after: Record<string, ReturnType<typeof memoryOf>>;
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

    // Stage 1: A's API alone (an unshared channel), so the report can split A's cost into "write" and "sync".
    const plain = await createChannel(hub, `plain-${channelId.slice(0, 6)}`);
    for (const w of writers) await hub.server.api.ok('POST', `/api/v4/channels/${plain}/members`, { token: hub.token, body: { user_id: w.id } });
    const apiPosts = Math.min(opts.posts, opts.quick ? 300 : 2000);
    const apiCpu = new PhaseCpu(c);
    await apiCpu.start();
    const apiFlood = await floodPosts(hub.server.api, writers, plain, apiPosts, opts.writers, 'api-only');
    const apiUsed = await apiCpu.stop(apiPosts);
    const apiOnly: ApiOnlyResult = {
      posts: apiPosts,
      posts_per_s: Math.round(apiPosts / ((apiFlood.finishedAt - apiFlood.startedAt) / 1000)),
      cpu_ms_per_post: { A: apiUsed.cpu_ms.A, pg_A: apiUsed.cpu_ms.pg_A, harness: apiUsed.cpu_ms.harness },
      busy_pct: { A: apiUsed.busy_pct.A, pg_A: apiUsed.busy_pct.pg_A, harness: apiUsed.busy_pct.harness },
    };
    log(`throughput: unshared channel: A took ${apiPosts} posts at ${apiOnly.posts_per_s} posts/s, CPU ms per post A ${apiOnly.cpu_ms_per_post.A}, pg_A ${apiOnly.cpu_ms_per_post.pg_A}`);

    // Stage 2: the flood into the shared channel, until B has every post.
    const watcher = new PostWatcher(remotes[0].db, channelId, 5);
    await watcher.start();
    const [aBefore, bBefore] = [await scrape(hub.server.api), await scrape(remotes[0].server.api)];
    const cpu = new PhaseCpu(c);
    await cpu.start();
    const memA = new MemoryAtPeak(hub.server.api);
    const memB = new MemoryAtPeak(remotes[0].server.api);
    memA.start();
    memB.start();
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
    const used = await cpu.stop(opts.posts);
    const memoryAtPeak = { A: memA.stop() ?? null, B: memB.stop() ?? null };
    await watcher.stop();
    const lastSeen = Math.max(...flood.posts.map((p) => watcher.seen.get(p.id)!));
    const [aAfter, bAfter] = [await scrape(hub.server.api), await scrape(remotes[0].server.api)];
    const stages = syncStages({ before: aBefore, after: aAfter }, { before: bBefore, after: bAfter }, lastSeen - flood.startedAt);
    const rate = opts.posts / ((lastSeen - flood.startedAt) / 1000);
    const lag = percentiles(flood.posts.map((p) => watcher.seen.get(p.id)! - p.committedAt));
    log(`throughput: ${Math.round(rate)} posts/s A->B (A wrote at ${Math.round(writeRate)}/s, B finished ${Math.round(lastSeen - flood.finishedAt)} ms after the last write)`);
    log(`throughput: CPU ms per post: ${Object.entries(used.cpu_ms).map(([k, v]) => `${k} ${v}`).join(', ')}; busy %: ${Object.entries(used.busy_pct).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    const result: ThroughputResult = {
      api_only: apiOnly,
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
      cpu_ms_per_post: used.cpu_ms,
      busy_pct: used.busy_pct,
      stages,
      memory_at_peak: memoryAtPeak,
      memory_after: { A: memoryOf(aAfter), B: memoryOf(bAfter) },
      profile_windows: Object.fromEntries(c.servers.map((s) => s.profileWindow(flood.startedAt, lastSeen))),
    };
    return result;
  } catch (err) {
    throw c ? withLogs(err, c.servers) : err;
  } finally {
    await stopCluster(c);
  }
}
