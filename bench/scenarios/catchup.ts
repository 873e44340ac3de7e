import type pg from 'pg';
import { now, sleep } from '../lib/clock.js';
import { floodPosts, pool } from '../lib/load.js';
import { round } from '../lib/stats.js';
import { scrape, type SyncStages, syncStages } from '../lib/metrics.js';
import { PostWatcher } from '../lib/watcher.js';
import { type Cluster, type Ctx, logSummary, PhaseCpu, peakRss, startCluster, stopCluster, warmUp, withLogs } from './common.js';

export interface CatchupResult {
  backlog: { posts: number; reactions: number; edits: number };
  /** Seconds from B's restart (spawn) until both channels are identical. */
  catchup_s: number;
  /** The part of it B spent booting (spawn -> answering its health route). */
  boot_s: number;
  /** Seconds from B answering its health route until identical. */
  catchup_after_ready_s: number;
  /** Backlog items (posts + reactions + edits) / catchup_s. */
  items_per_s: number;
  /**
   * The sync engine's own rate on a backlog: backlog posts / (last one visible on B - first one visible on B).
   * Boot and reconnection are outside this window, and the posts were written long before, so A's API does not
   * limit it: this is the figure to hold against the raw pipeline.
   */
  drain_posts_per_s: number;
  /** Seconds from B answering its health route until the first backlog post was visible on it. */
  first_post_after_ready_s: number;
  /** How long A took the backlog through its API while B was down. */
  write_s: number;
  compare_interval_ms: number;
  /** CPU per backlog item from B's restart until identical (B's figure includes its boot). */
  cpu_ms_per_item: Record<string, number>;
  busy_pct: Record<string, number>;
  /** Where the catch-up window went, from A's and B's own /metrics. */
  stages: SyncStages;
  /** From B answering after its restart until identical, per instance: what --profile summarises. */
  profile_windows: Record<string, { fromMs: number; toMs: number }>;
  rss_peak_mb: Record<string, number>;
  rss_idle_mb: Record<string, number>;
  server_log: Record<string, { lines: number; sample: string[] }>;
}

const EMOJIS = ['+1', 'smile', 'heart', 'tada', 'rocket', 'eyes', 'white_check_mark', 'fire'];

interface Digest {
  posts: number;
  postsHash: string;
  reactions: number;
  reactionsHash: string;
}

/** What must be identical on both sides: post ids, messages, edit and delete times; the active reactions. */
async function digest(db: pg.Client, channelId: string): Promise<Digest> {
  const { rows: p } = await db.query<{ n: number; h: string }>(
    `SELECT count(*)::int AS n, coalesce(md5(string_agg(id || ':' || md5(message) || ':' || edit_at || ':' || delete_at, ',' ORDER BY id)), '') AS h
       FROM posts WHERE channel_id = $1 AND type NOT LIKE 'system\\_%'`,
    [channelId],
  );
  const { rows: r } = await db.query<{ n: number; h: string }>(
    `SELECT count(*)::int AS n, coalesce(md5(string_agg(user_id || ':' || post_id || ':' || emoji_name, ',' ORDER BY user_id, post_id, emoji_name)), '') AS h
       FROM reactions WHERE channel_id = $1 AND delete_at = 0`,
    [channelId],
  );
  return { posts: p[0].n, postsHash: p[0].h, reactions: r[0].n, reactionsHash: r[0].h };
}

const same = (a: Digest, b: Digest) => a.postsHash === b.postsHash && a.reactionsHash === b.reactionsHash && a.posts === b.posts && a.reactions === b.reactions;

export async function runCatchup(ctx: Ctx): Promise<CatchupResult> {
  const { opts, log } = ctx;
  const backlog = opts.catchup;
  let c: Cluster | undefined;
  try {
    c = await startCluster(ctx, 'cat', 1, {}, opts.profile);
    await warmUp(ctx, c, 'catch-up');
    const { hub, remotes, channelId, writers } = c.setup;
    const B = c.servers[1];
    const api = hub.server.api;

    await B.kill();
    log(`catch-up: B killed (SIGKILL); A takes ${backlog.posts} posts, ${backlog.reactions} reactions, ${backlog.edits} edits...`);
    const t = now();
    const { posts } = await floodPosts(api, writers, channelId, backlog.posts, opts.writers, 'catch-up');
    await pool(posts.slice(0, backlog.reactions), opts.writers, async (p, i) => {
      // Each reaction by a writer other than the author, so it is a genuine second user's change.
      const user = writers[(writers.indexOf(p.user) + 1 + (i % (writers.length - 1))) % writers.length];
      await api.ok('POST', '/api/v4/reactions', { token: user.token, body: { user_id: user.id, post_id: p.id, emoji_name: EMOJIS[i % EMOJIS.length] } });
    });
    await pool(posts.slice(-backlog.edits), opts.writers, async (p, i) => {
      await api.ok('PUT', `/api/v4/posts/${p.id}/patch`, { token: p.user.token, body: { message: `catch-up post edited ${i} while B was down` } });
    });
    const writeS = (now() - t) / 1000;
    const watcher = new PostWatcher(remotes[0].db, channelId, 5);
    await watcher.start();
    const expected = await digest(hub.db, channelId);
    log(`catch-up: backlog written in ${writeS.toFixed(1)} s (A has ${expected.posts} posts, ${expected.reactions} reactions); restarting B...`);

    const aBefore = await scrape(api);
    // The harness's connection to B's database outlives B's process (PostgreSQL stays up).
    const restartAt = Date.now();
    await B.start();
    // B's process is new: measured from its readiness (its boot CPU is in boot_s, not here).
    const cpu = new PhaseCpu(c);
    await cpu.start();
    const compareMs = 50;
    const deadline = Date.now() + Math.max(180_000, (backlog.posts + backlog.reactions + backlog.edits) * 40);
    let doneAt = 0;
    let last: Digest | undefined;
    for (;;) {
      const tick = Date.now();
      const [a, b] = await Promise.all([digest(hub.db, channelId), digest(remotes[0].db, channelId)]);
      last = b;
      if (same(a, b)) {
        doneAt = tick;
        break;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `catch-up: channels still differ after ${((Date.now() - restartAt) / 1000).toFixed(0)} s: A has ${a.posts} posts/${a.reactions} reactions, B has ${b.posts}/${b.reactions}`,
        );
      }
      await sleep(compareMs);
    }
    const stages = syncStages({ before: aBefore, after: await scrape(api) }, { before: new Map(), after: await scrape(B.api) }, doneAt - B.readyAt);
    const items = backlog.posts + backlog.reactions + backlog.edits;
    await watcher.waitForAll(posts.map((p) => p.id), 10_000, 'catch-up: backlog posts on B');
    await watcher.stop();
    const seen = posts.map((p) => watcher.seen.get(p.id)!);
    const firstSeen = Math.min(...seen);
    const lastSeen = Math.max(...seen);
    const used = await cpu.stop(items);
    const catchupS = (doneAt - B.spawnedAt) / 1000;
    const result: CatchupResult = {
      backlog,
      catchup_s: round(catchupS, 2),
      boot_s: round((B.readyAt - B.spawnedAt) / 1000, 2),
      catchup_after_ready_s: round((doneAt - B.readyAt) / 1000, 2),
      items_per_s: Math.round(items / catchupS),
      drain_posts_per_s: Math.round(backlog.posts / Math.max(0.001, (lastSeen - firstSeen) / 1000)),
      first_post_after_ready_s: round((firstSeen - B.readyAt) / 1000, 2),
      write_s: round(writeS, 1),
      compare_interval_ms: compareMs,
      cpu_ms_per_item: used.cpu_ms,
      busy_pct: used.busy_pct,
      stages,
      profile_windows: Object.fromEntries(c.servers.map((s) => s.profileWindow(B.readyAt, doneAt))),
      rss_peak_mb: peakRss(c),
      rss_idle_mb: c.idleRssMb,
      server_log: logSummary(c),
    };
    log(`catch-up: identical ${result.catchup_s} s after B's restart (boot ${result.boot_s} s; ${last.posts} posts, ${last.reactions} reactions)`);
    return result;
  } catch (err) {
    throw c ? withLogs(err, c.servers) : err;
  } finally {
    await stopCluster(c);
  }
}
