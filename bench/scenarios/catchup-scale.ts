import type pg from 'pg';
import { sleep } from '../lib/clock.js';
import { createChannel } from '../lib/federation.js';
import { pool } from '../lib/load.js';
import { scrape, type SyncStages, syncStages } from '../lib/metrics.js';
import { round } from '../lib/stats.js';
import { IdWatcher } from '../lib/watcher.js';
import { type Cluster, type Ctx, logSummary, PhaseCpu, peakRss, startCluster, stopCluster, withLogs } from './common.js';
import { shareAll } from './scale.js';

/** Backfill and catch-up at scale: a backlog over many channels waiting for a remote that comes back. */
export interface CatchupScaleResult {
  posts: number;
  channels: number;
  /** Seconds from B's restart (spawn) until every channel is identical on both sides. */
  catchup_s: number;
  boot_s: number;
  /** From B answering its health route until identical. */
  catchup_after_ready_s: number;
  /** From the first backlog post on B until identical. */
  first_post_after_ready_s: number;
  /** Backlog posts / (identical - first backlog post on B). */
  drain_posts_per_s: number;
  /** How the backlog was written (SQL into A's database, see below) and how long it took. */
  load_s: number;
  cpu_ms_per_post: Record<string, number>;
  busy_pct: Record<string, number>;
  stages: SyncStages;
  /** From B answering after its restart until identical, per instance: what --profile summarises. */
  profile_windows: Record<string, { fromMs: number; toMs: number }>;
  rss_peak_mb: Record<string, number>;
  server_log: Record<string, { lines: number; sample: string[] }>;
}

async function counts(db: pg.Client, channels: string[]): Promise<{ n: number; h: string }> {
  const { rows } = await db.query<{ n: number; h: string }>(
    `SELECT count(*)::int AS n, coalesce(md5(string_agg(id || ':' || md5(message), ',' ORDER BY id)), '') AS h FROM posts WHERE channel_id = ANY($1::varchar[]) AND type NOT LIKE 'system\\_%'`,
    [channels],
  );
  return rows[0];
}

async function countOnly(db: pg.Client, channels: string[]): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM posts WHERE channel_id = ANY($1::varchar[]) AND type NOT LIKE 'system\\_%'`, [channels]);
  return rows[0].n;
}

/**
 * B is killed; A gets `posts` new posts spread evenly over `channels` shared channels, written straight into A's
 * database in one transaction (through the API that would take minutes; the rows are what the API writes: each post
 * stamped with the next value of its channel's sequence, which is all the sync engine reads); B comes back; the time
 * until every channel is identical.
 */
export async function runCatchupScale(ctx: Ctx): Promise<CatchupScaleResult> {
  const { opts, log } = ctx;
  const { posts: total, channels: nChannels } = opts.catchupScale;
  const per = Math.ceil(total / nChannels);
  let c: Cluster | undefined;
  try {
    c = await startCluster(ctx, 'cat100k', 1, {}, opts.profile);
    const { hub, remotes, remoteIds } = c.setup;
    const B = c.servers[1];
    const channels: string[] = [];
    await pool(
      Array.from({ length: nChannels }, (_, i) => i),
      8,
      async (i) => {
        channels.push(await createChannel(hub, `cat-${i}-${remoteIds[0].slice(0, 5)}`));
      },
    );
    await shareAll(hub, remotes, remoteIds, channels);
    // One post per channel through the API, synced: the author is known to B and every channel's first pass is done.
    const watcher = new IdWatcher(remotes[0].db, 20);
    watcher.start();
    const warm: string[] = [];
    await pool(channels, 8, async (ch) => {
      const p = await hub.server.api.ok<{ id: string }>('POST', '/api/v4/posts', { token: hub.token, body: { channel_id: ch, message: 'catch-up warm-up' } });
      warm.push(p.id);
      watcher.add(p.id);
    });
    await watcher.waitForAll(warm, 120_000, 'catch-up at scale: warm-up posts on B');
    await watcher.stop();
    log(`catch-up at scale: ${nChannels} channels shared and synced; killing B, writing ${per * nChannels} posts into A...`);
    await B.kill();
    const { rows: me } = await hub.db.query<{ id: string }>("SELECT id FROM users WHERE username = 'benchadmin'");
    const t = Date.now();
    const base = Date.now() - per * nChannels;
    await hub.db.query('BEGIN');
    // Statement triggers off (as in the consistency scenario): the rows get their channel sequence numbers here.
    await hub.db.query('SET LOCAL session_replication_role = replica');
    await hub.db.query(
      `INSERT INTO posts (id, create_at, update_at, user_id, channel_id, message, props, seq)
       SELECT substr(md5(c.id || ':' || i), 1, 26), $1::bigint + ord * $2::bigint + i, $1::bigint + ord * $2::bigint + i, $3, c.id,
              'catch-up at scale post ' || i || ': the quick brown fox jumps over the lazy dog', '{}', c.last_seq + i
         FROM unnest($4::varchar[]) WITH ORDINALITY AS x(cid, ord) JOIN channels c ON c.id = x.cid, generate_series(1, $2::int) AS i`,
      [base, per, me[0].id, channels],
    );
    await hub.db.query('UPDATE channels SET last_seq = last_seq + $1 WHERE id = ANY($2::varchar[])', [per, channels]);
    await hub.db.query('COMMIT');
    await hub.db.query('VACUUM ANALYZE posts');
    const loadS = (Date.now() - t) / 1000;
    const expected = await counts(hub.db, channels);
    const startCount = await countOnly(remotes[0].db, channels);
    log(`catch-up at scale: A has ${expected.n} posts in the ${nChannels} channels (written in ${loadS.toFixed(1)} s); restarting B...`);
    const aBefore = await scrape(hub.server.api);
    await B.start();
    const cpu = new PhaseCpu(c);
    await cpu.start();
    let firstAt = 0;
    let doneAt = 0;
    const deadline = Date.now() + Math.max(300_000, total * 5);
    for (;;) {
      const tick = Date.now();
      const n = await countOnly(remotes[0].db, channels);
      if (!firstAt && n > startCount) firstAt = tick;
      if (n >= expected.n) {
        const b = await counts(remotes[0].db, channels);
        if (b.n === expected.n && b.h === expected.h) {
          doneAt = tick;
          break;
        }
      }
      if (Date.now() > deadline) throw new Error(`catch-up at scale: B has ${n} of ${expected.n} posts after ${((Date.now() - B.spawnedAt) / 1000).toFixed(0)} s`);
      await sleep(100);
    }
    const used = await cpu.stop(per * nChannels);
    const stages = syncStages({ before: aBefore, after: await scrape(hub.server.api) }, { before: new Map(), after: await scrape(B.api) }, doneAt - B.readyAt);
    const result: CatchupScaleResult = {
      posts: per * nChannels,
      channels: nChannels,
      catchup_s: round((doneAt - B.spawnedAt) / 1000, 2),
      boot_s: round((B.readyAt - B.spawnedAt) / 1000, 2),
      catchup_after_ready_s: round((doneAt - B.readyAt) / 1000, 2),
      first_post_after_ready_s: round((firstAt - B.readyAt) / 1000, 2),
      drain_posts_per_s: Math.round((per * nChannels) / Math.max(0.001, (doneAt - firstAt) / 1000)),
      load_s: round(loadS, 1),
      cpu_ms_per_post: used.cpu_ms,
      busy_pct: used.busy_pct,
      stages,
      profile_windows: Object.fromEntries(c.servers.map((x) => x.profileWindow(B.readyAt, doneAt))),
      rss_peak_mb: peakRss(c),
      server_log: logSummary(c),
    };
    log(
      `catch-up at scale: identical ${result.catchup_s} s after B's restart (boot ${result.boot_s} s, first backlog post ${result.first_post_after_ready_s} s after ready); drain ${result.drain_posts_per_s} posts/s`,
    );
    return result;
  } catch (err) {
    throw c ? withLogs(err, c.servers) : err;
  } finally {
    await stopCluster(c);
  }
}
