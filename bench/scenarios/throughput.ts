import { Queue } from 'bullmq';
import { backendPids, cpuBetween, snapshot } from '../lib/cpu.js';
import { createChannel } from '../lib/federation.js';
import { HttpClient } from '../lib/http-client.js';
import { startHelperProcess } from './baseline.js';
import { REDIS_URL } from '../lib/infra.js';
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
  /**
   * The raw per-request baseline (bench/baseline/api-server.ts: node:http + pg on A's own database, the token lookup,
   * the membership check, the post and its journal row in one statement), the same posts from the same clients
   * at the same concurrency into the same channel, right after A's run.
   */
  baseline_posts_per_s: number;
  baseline_cpu_ms_per_post: Record<string, number>;
  /** posts_per_s / baseline_posts_per_s. */
  ratio: number;
}

/**
 * The sync engine alone, on warm processes: A's sync queue is paused (BullMQ, from outside) while A takes the
 * posts, then resumed; the rate is posts / (last on B - resume). A's API is not in the way, nothing restarts.
 */
export interface SyncOnlyResult {
  posts: number;
  /** posts / (last post on B - queue resumed): includes the job pick-up after the resume. */
  posts_per_s: number;
  /** posts / (last - first post on B). */
  first_to_last_posts_per_s: number;
  first_post_after_resume_ms: number;
  cpu_ms_per_post: Record<string, number>;
  busy_pct: Record<string, number>;
  stages: SyncStages;
}

export interface ThroughputResult {
  sync_only: SyncOnlyResult;
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
  /** The unshared-channel API run, likewise (A's write path alone). */
  api_only_profile_windows: Record<string, { fromMs: number; toMs: number }>;
  /** The flood, in ms since each instance was spawned: what --profile summarises. */
  profile_windows: Record<string, { fromMs: number; toMs: number }>;
  /** The sync-engine-alone stage, likewise. */
  sync_only_profile_windows: Record<string, { fromMs: number; toMs: number }>;
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
    const apiWindows = Object.fromEntries(c.servers.map((s) => s.profileWindow(apiFlood.startedAt, apiFlood.finishedAt)));
    const apiRate = apiPosts / ((apiFlood.finishedAt - apiFlood.startedAt) / 1000);
    // The raw per-request baseline on A's database, same clients, concurrency and channel.
    const raw = await startHelperProcess('api-server', hub.server.dbUrl, log);
    const rawApi = new HttpClient(`http://127.0.0.1:${raw.port}`, 64);
    let rawRate: number;
    let rawCpu: Record<string, number>;
    try {
      await floodPosts(rawApi, writers, plain, Math.min(200, apiPosts), opts.writers, 'raw-api-warm-up');
      const pgBefore = snapshot(await backendPids(hub.server.dbName));
      const procBefore = snapshot([raw.pid]);
      const rawFlood = await floodPosts(rawApi, writers, plain, apiPosts, opts.writers, 'raw-api');
      rawRate = apiPosts / ((rawFlood.finishedAt - rawFlood.startedAt) / 1000);
      rawCpu = {
        server: round(cpuBetween(procBefore, snapshot([raw.pid])) / apiPosts, 3),
        pg: round(cpuBetween(pgBefore, snapshot(await backendPids(hub.server.dbName))) / apiPosts, 3),
      };
    } finally {
      rawApi.close();
      await raw.stop();
    }
    const apiOnly: ApiOnlyResult = {
      posts: apiPosts,
      posts_per_s: Math.round(apiRate),
      cpu_ms_per_post: { A: apiUsed.cpu_ms.A, pg_A: apiUsed.cpu_ms.pg_A, harness: apiUsed.cpu_ms.harness },
      busy_pct: { A: apiUsed.busy_pct.A, pg_A: apiUsed.busy_pct.pg_A, harness: apiUsed.busy_pct.harness },
      baseline_posts_per_s: Math.round(rawRate),
      baseline_cpu_ms_per_post: rawCpu,
      ratio: round(apiRate / rawRate, 3),
    };
    log(`throughput: raw per-request API baseline: ${apiOnly.baseline_posts_per_s} posts/s (CPU ms per post server ${rawCpu.server}, pg ${rawCpu.pg}); A's API ${apiOnly.posts_per_s} posts/s, ratio ${apiOnly.ratio}`);
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
    // Stage 3: the sync engine alone. With A's sync queue paused the posts pile up on A (the scheduler's jobs wait
    // in Redis); resuming it lets warm processes drain them as fast as the engine goes.
    const syncQueue = new Queue('sync', { connection: { url: REDIS_URL, maxRetriesPerRequest: null }, prefix: `${hub.server.queuePrefix}:bull` }); // as src/queue/queue.module.ts names it
    let syncOnly: SyncOnlyResult;
    let syncOnlyWindows: Record<string, { fromMs: number; toMs: number }>;
    try {
      const watcher3 = new PostWatcher(remotes[0].db, channelId, 2);
      await watcher3.start();
      await syncQueue.pause();
      // A job already running when the queue paused finishes its pass (up to SYNC_JOB_BUDGET_MS); let it.
      await new Promise((r) => setTimeout(r, 2_500));
      const backlog = await floodPosts(hub.server.api, writers, channelId, opts.posts, opts.writers, 'sync-only');
      const early = backlog.posts.filter((p) => watcher3.seen.has(p.id)).length;
      if (early) throw new Error(`sync only: ${early} posts reached B while A's sync queue was paused: the pause did not hold`);
      const [a3, b3] = [await scrape(hub.server.api), await scrape(remotes[0].server.api)];
      const cpu3 = new PhaseCpu(c);
      await cpu3.start();
      log(`throughput: ${opts.posts} posts waiting on A with its sync queue paused; resuming...`);
      const resumedAt = Date.now();
      await syncQueue.resume();
      await watcher3.waitForAll(backlog.posts.map((p) => p.id), Math.max(120_000, opts.posts * 20), 'sync only: posts reaching B');
      const used3 = await cpu3.stop(opts.posts);
      await watcher3.stop();
      const times = backlog.posts.map((p) => watcher3.seen.get(p.id)!);
      const [first, last] = [Math.min(...times), Math.max(...times)];
      const [a3After, b3After] = [await scrape(hub.server.api), await scrape(remotes[0].server.api)];
      syncOnly = {
        posts: opts.posts,
        posts_per_s: Math.round(opts.posts / Math.max(0.001, (last - resumedAt) / 1000)),
        first_to_last_posts_per_s: Math.round(opts.posts / Math.max(0.001, (last - first) / 1000)),
        first_post_after_resume_ms: round(first - resumedAt),
        cpu_ms_per_post: used3.cpu_ms,
        busy_pct: used3.busy_pct,
        stages: syncStages({ before: a3, after: a3After }, { before: b3, after: b3After }, last - resumedAt),
      };
      syncOnlyWindows = Object.fromEntries(c.servers.map((s) => s.profileWindow(resumedAt, last)));
      log(`throughput: sync engine alone: ${syncOnly.posts_per_s} posts/s from resume to the last post on B (first after ${syncOnly.first_post_after_resume_ms} ms; first to last ${syncOnly.first_to_last_posts_per_s}/s)`);
    } finally {
      await syncQueue.resume().catch(() => undefined);
      await syncQueue.close().catch(() => undefined);
    }

    const result: ThroughputResult = {
      sync_only: syncOnly,
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
      sync_only_profile_windows: syncOnlyWindows,
      api_only_profile_windows: apiWindows,
    };
    return result;
  } catch (err) {
    throw c ? withLogs(err, c.servers) : err;
  } finally {
    await stopCluster(c);
  }
}
