import type pg from 'pg';
import { now } from '../lib/clock.js';
import { createChannel } from '../lib/federation.js';
import { round } from '../lib/stats.js';
import { type Cluster, type Ctx, logSummary, PhaseCpu, peakRss, startCluster, stopCluster, withLogs } from './common.js';

interface CheckJson {
  last_result: string;
  last_error: string;
  divergent: number;
  repaired: number;
  digest_bytes: number;
  repair_bytes: number;
  duration_ms: number;
}

export interface CheckCost {
  /** Wall time of POST .../consistency (the check, run by A, including B's side of it). */
  wall_ms: number;
  /** As A's check measured itself. */
  duration_ms: number;
  /** Payload bytes of digests and item lists, both ways. */
  digest_bytes: number;
  /** Payload bytes of fetched and pushed items. */
  repair_bytes: number;
  /** CPU of A, B and their PostgreSQL backends during the check. */
  cpu_ms: Record<string, number>;
  result: string;
  divergent: number;
  repaired: number;
}

export interface ConsistencyBenchResult {
  posts: number;
  /** Writing the posts into both databases directly (the sync engine would take minutes), and VACUUM ANALYZE. */
  load_s: number;
  /** Posts of other, unshared channels on A (a server holds more than one channel: the digest must not read them). */
  other_posts: number;
  /** Median of the measured checks of the identical channel (after one unmeasured check to warm the caches). */
  consistent: CheckCost;
  /** Every measured run of it. */
  consistent_runs: CheckCost[];
  /** One check with `missing` posts deleted on B beforehand: found and repaired. */
  divergent: CheckCost & { missing: number };
  /** EXPLAIN (ANALYZE) of the whole-channel post digest on A: the plan's scan and its heap fetches (0 = index only). */
  plan: { scan: string; heap_fetches: number | null; ms: number };
  rss_peak_mb: Record<string, number>;
  rss_idle_mb: Record<string, number>;
  server_log: Record<string, { lines: number; sample: string[] }>;
}

const MEASURED_RUNS = 3;
const MISSING = 3;

/** `n` posts by `userId` in `channelId`, with channel sequence numbers, in one transaction without triggers. */
async function bulkPosts(db: pg.Client, channelId: string, userId: string, n: number, remoteId: string | null, cursorOf?: string, seed = 'cons'): Promise<void> {
  const stamp = remoteId ? `'${remoteId}'` : 'NULL';
  // Session triggers off: 100,000 updates of one channel row (the sequence trigger) in one transaction would take
  // minutes; the rows get their sequence numbers here, the channel's counter is moved once.
  await db.query(`BEGIN; SET LOCAL session_replication_role = replica;
    INSERT INTO posts (id, create_at, update_at, user_id, channel_id, message, remote_id, seq)
    SELECT substr(md5('${seed}' || i), 1, 26), 1700000000000 + i, 1700000000000 + i, '${userId}', '${channelId}',
           'consistency bench post ' || i, ${stamp}, (SELECT last_seq FROM channels WHERE id = '${channelId}') + i
      FROM generate_series(1, ${n}) AS i;
    UPDATE channels SET last_seq = last_seq + ${n} WHERE id = '${channelId}';
    ${
      cursorOf
        ? `UPDATE shared_channel_remotes SET last_post_seq = (SELECT last_seq FROM channels WHERE id = '${channelId}'),
             last_post_seq_id = 'zzzzzzzzzzzzzzzzzzzzzzzzzz' WHERE channel_id = '${channelId}' AND remote_id = '${cursorOf}';`
        : ''
    }
    COMMIT`);
  await db.query('VACUUM ANALYZE posts');
}

/**
 * The cost of one consistency check (anti-entropy) of a shared channel of `--consistency-posts` posts (100,000 by
 * default) between A (its home) and B: wall time, bytes exchanged and CPU, for a channel that is identical on both
 * sides and for one with a few posts missing on B (found and repaired). Both databases get the same posts written
 * directly; A's sync cursor is past them, as after a long-finished sync. A also holds three times as many posts in an
 * unshared channel, so its posts table is not just this channel (the digest reads the channel's index range only).
 */
export async function runConsistency(ctx: Ctx): Promise<ConsistencyBenchResult> {
  const { opts, log } = ctx;
  const n = opts.consistencyPosts;
  let c: Cluster | undefined;
  try {
    c = await startCluster(ctx, 'cons', 1, { CONSISTENCY_CHECK_INTERVAL_MS: '0' });
    const { hub, remotes, remoteIds, channelId, writers } = c.setup;
    const B = remotes[0];
    const remoteId = remoteIds[0];
    const t0 = now();
    const other = await createChannel(hub, 'not-shared');
    await bulkPosts(hub.db, other, writers[0].id, 3 * n, null, undefined, 'other');
    await bulkPosts(hub.db, channelId, writers[0].id, n, null, remoteId);
    await bulkPosts(B.db, channelId, writers[0].id, n, remoteId);
    const loadS = round((now() - t0) / 1000, 1);
    log(`consistency: ${n.toLocaleString('en-US')} posts written into A and B (and ${(3 * n).toLocaleString('en-US')} into another channel of A) in ${loadS} s`);

    const check = async (): Promise<CheckCost> => {
      const cpu = new PhaseCpu(c!);
      await cpu.start();
      const t = now();
      const res = await hub.server.api.ok<CheckJson>('POST', `/api/v4/sharedchannels/${channelId}/remotes/${remoteId}/consistency`, {
        token: hub.token,
        timeoutMs: 120_000,
      });
      const wall = now() - t;
      const used = await cpu.stop();
      if (res.last_error) throw new Error(`the consistency check failed: ${res.last_error}`);
      return {
        wall_ms: round(wall, 1),
        duration_ms: res.duration_ms,
        digest_bytes: res.digest_bytes,
        repair_bytes: res.repair_bytes,
        cpu_ms: Object.fromEntries(Object.entries(used.cpu_ms).filter(([k]) => k !== 'harness')),
        result: res.last_result,
        divergent: res.divergent,
        repaired: res.repaired,
      };
    };

    const warm = await check();
    if (warm.result !== 'consistent') throw new Error(`the channels should be identical, the check says ${warm.result} (${warm.divergent} divergent)`);
    const runs: CheckCost[] = [];
    for (let i = 0; i < MEASURED_RUNS; i++) runs.push(await check());
    const median = [...runs].sort((a, b) => a.wall_ms - b.wall_ms)[Math.floor(runs.length / 2)];
    log(`consistency: identical ${n.toLocaleString('en-US')}-post channel checked in ${median.wall_ms} ms with ${median.digest_bytes} bytes of digests`);

    await B.db.query(
      `DELETE FROM posts WHERE id IN (${Array.from({ length: MISSING }, (_, i) => `substr(md5('cons${Math.floor(((i + 1) * n) / (MISSING + 1))}'), 1, 26)`).join(', ')})`,
    );
    const repaired = await check();
    if (repaired.result !== 'repaired' || repaired.repaired !== MISSING) {
      throw new Error(`expected ${MISSING} posts found and repaired, the check says ${repaired.result} (${repaired.divergent} divergent, ${repaired.repaired} repaired)`);
    }
    log(`consistency: ${MISSING} posts missing on B found and repaired in ${repaired.wall_ms} ms, ${repaired.digest_bytes} bytes of digests, ${repaired.repair_bytes} of repairs`);

    // The whole-channel digest of A's posts, as A computes it for B: is it an index-only scan?
    const { rows } = await hub.db.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE, FORMAT TEXT) SELECT to_hex(bit_xor(hashtextextended(p.id || '|' || p.update_at || ':' || p.delete_at, 0))), count(*)
         FROM posts p WHERE p.channel_id = $1 AND p.type NOT LIKE 'system\\_%' AND p.remote_id IS DISTINCT FROM $2 AND p.seq > 0`,
      [channelId, remoteId],
    );
    const plan = rows.map((r) => r['QUERY PLAN']);
    const scan = plan.find((l) => l.includes(' Scan '))?.replace('->', '').trim().split('  (')[0] ?? 'unknown';
    const fetches = plan.find((l) => /Heap Fetches/.test(l));
    const time = plan.find((l) => /Execution Time/.test(l));

    return {
      posts: n,
      load_s: loadS,
      other_posts: 3 * n,
      consistent: median,
      consistent_runs: runs,
      divergent: { ...repaired, missing: MISSING },
      plan: {
        scan,
        heap_fetches: fetches ? Number(fetches.replace(/\D+/g, '')) : null,
        ms: time ? Number(time.split(':')[1]?.trim().split(' ')[0] ?? 0) : 0,
      },
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
