import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type pg from 'pg';
import { COLUMNS, multiRowInsert, type RawPost, SCHEMA_SQL, syncFrame } from '../baseline/schema.js';
import { ROOT } from '../lib/build.js';
import { onCleanup, onExitKill, withTimeout } from '../lib/cleanup.js';
import { now, sleep } from '../lib/clock.js';
import { HttpClient } from '../lib/http-client.js';
import { backendPids, cpuBetween, snapshot } from '../lib/cpu.js';
import { connectDb, createDatabase, dbUrl, dropDatabase } from '../lib/infra.js';
import { RssMeter } from '../lib/rss.js';
import { type Percentiles, percentiles, round } from '../lib/stats.js';
import { PostWatcher } from '../lib/watcher.js';

export interface BaselineResult {
  /** 6b: rows/s of 100-row INSERTs on one connection. */
  insert_posts_per_s: number;
  /** 6a: read 100-post pages -> JSON POST over keep-alive loopback -> one multi-row upsert, posts/s (one page in flight). */
  pipeline_posts_per_s: number;
  /** 6a with 1, 4 and 8 pages in flight (the reader goes on while earlier pages are being sent and written). */
  pipeline_inflight: Array<{ inflight: number; posts_per_s: number }>;
  /** The best of pipeline_inflight: the limit of this machine every sync rate is read against. */
  limit_pipeline_posts_per_s: number;
  limit_inflight: number;
  /** 6a at a steady rate: (visible in the destination) - (source INSERT committed), same poller as the server runs. */
  pipeline_lag_ms: Percentiles;
  posts: number;
  receiver_rss_peak_mb: number;
  /** CPU per post while the pipeline moved the posts: sender (this process), receiver, PostgreSQL backends. */
  pipeline_cpu_ms_per_post: Record<string, number>;
  poll_interval_ms: number;
}

const id26 = () => randomBytes(16).toString('hex').slice(0, 26);

function fakePosts(n: number, channelId: string, userIds: string[]): RawPost[] {
  const t = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    id: id26(),
    create_at: t + i,
    update_at: t + i,
    edit_at: 0,
    delete_at: 0,
    is_pinned: false,
    user_id: userIds[i % userIds.length],
    channel_id: channelId,
    root_id: '',
    original_id: '',
    message: `baseline post ${i}: the quick brown fox jumps over the lazy dog`,
    type: '',
    props: {},
    hashtags: '',
    file_ids: [],
    pending_post_id: '',
    remote_id: null,
  }));
}

export interface HelperProcess {
  port: number;
  pid: number;
  stop: () => Promise<void>;
  rss: RssMeter;
}

/** A baseline's own Node process (bench/baseline/<script>.ts) on `url`; resolves when it prints its port. */
export async function startHelperProcess(script: string, url: string, log: (m: string) => void, env: Record<string, string> = {}): Promise<HelperProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, `bench/baseline/${script}.ts`)], {
    cwd: ROOT,
    env: { ...process.env, ...env, BASELINE_DB_URL: url },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const unregister = onExitKill(() => child.kill('SIGKILL'));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const rss = new RssMeter();
  rss.attach(child.pid!);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await withTimeout(exited, 10_000, 'baseline receiver exit').catch(() => child.kill('SIGKILL'));
    rss.detach();
    unregister();
  };
  const unregisterCleanup = onCleanup(`baseline ${script}`, stop);
  const port = await withTimeout(
    new Promise<number>((resolve, reject) => {
      const rl = createInterface({ input: child.stdout! });
      rl.on('line', (line) => {
        const m = /^listening (\d+)$/.exec(line);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`baseline ${script} exited with code ${code}`)));
    }),
    30_000,
    `baseline ${script} start`,
  );
  log(`baseline ${script} (pid ${child.pid}) on port ${port}`);
  return {
    port,
    pid: child.pid!,
    rss,
    stop: async () => {
      unregisterCleanup();
      await stop();
    },
  };
}

const NUMERIC = ['create_at', 'update_at', 'edit_at', 'delete_at'] as const;

/** The next page of up to 100 source rows after `cursor`, in the engine's row shape. */
async function readPage(src: pg.Client, channelId: string, cursor: number): Promise<{ posts: RawPost[]; cursor: number }> {
  const { rows } = await src.query<RawPost & { seq: string }>(`SELECT ${COLUMNS.join(', ')}, seq FROM src_posts WHERE channel_id = $1 AND seq > $2 ORDER BY seq LIMIT 100`, [
    channelId,
    cursor,
  ]);
  if (!rows.length) return { posts: [], cursor };
  const posts = rows.map(({ seq: _seq, ...p }) => {
    const out = { ...p } as RawPost;
    for (const k of NUMERIC) out[k] = Number(p[k]);
    return out;
  });
  return { posts, cursor: Number(rows[rows.length - 1].seq) };
}

/** Moves every source row after `cursor` to the receiver, page by page; returns the new cursor and rows moved. */
async function pumpOnce(src: pg.Client, api: HttpClient, channelId: string, cursor: number): Promise<{ cursor: number; moved: number }> {
  const page = await readPage(src, channelId, cursor);
  if (!page.posts.length) return { cursor, moved: 0 };
  await api.ok('POST', '/msg', { body: syncFrame('baseline', channelId, page.posts) });
  return { cursor: page.cursor, moved: page.posts.length };
}

/** Every source row to the receiver with up to `inflight` pages sent and not yet answered; rows moved. */
async function pumpAll(src: pg.Client, api: HttpClient, channelId: string, inflight: number): Promise<number> {
  let cursor = 0;
  let moved = 0;
  const pending = new Set<Promise<void>>();
  let failed: unknown;
  for (;;) {
    while (pending.size >= inflight) await Promise.race(pending);
    if (failed) throw failed;
    const page = await readPage(src, channelId, cursor);
    if (!page.posts.length) break;
    cursor = page.cursor;
    const p: Promise<void> = api.ok('POST', '/msg', { body: syncFrame('baseline', channelId, page.posts) }).then(
      () => {
        moved += page.posts.length;
        pending.delete(p);
      },
      (err: unknown) => {
        failed = err;
        pending.delete(p);
      },
    );
    pending.add(p);
  }
  await Promise.all(pending);
  if (failed) throw failed;
  return moved;
}

export async function runBaseline(opts: { runId: string; posts: number; rate: number; lagS: number; pollMs: number; keep: boolean; log: (m: string) => void }): Promise<BaselineResult> {
  const { log } = opts;
  const dbName = `bench_baseline_${opts.runId}`;
  await createDatabase(dbName);
  const unregisterDb = onCleanup(`drop ${dbName}`, () => (opts.keep ? undefined : dropDatabase(dbName)));
  const url = dbUrl(dbName);
  const src = await connectDb(url);
  const probe = await connectDb(url);
  const receiver = await startHelperProcess('receiver', url, log);
  const api = new HttpClient(`http://127.0.0.1:${receiver.port}`, 8);
  try {
    await src.query(SCHEMA_SQL);
    const channelId = id26();
    const users = Array.from({ length: 16 }, id26);

    // 6b: the raw batched INSERT rate alone.
    const rows = fakePosts(opts.posts, channelId, users);
    let t = now();
    for (let i = 0; i < rows.length; i += 100) await src.query(multiRowInsert('src_posts', rows.slice(i, i + 100), false));
    const insertRate = opts.posts / ((now() - t) / 1000);
    log(`raw batched INSERT: ${Math.round(insertRate)} posts/s (${opts.posts} rows, 100 per statement, one connection)`);
    await src.query('VACUUM ANALYZE src_posts');

    // 6a: the raw pipeline, throughput, with 1, 4 and 8 pages in flight (the destination emptied between runs).
    const inflightRuns: Array<{ inflight: number; posts_per_s: number }> = [];
    let pipelineRate = 0;
    let pipelineCpu: Record<string, number> = {};
    for (const inflight of [1, 4, 8]) {
      await src.query('TRUNCATE dst_posts');
      const pgPids = await backendPids(dbName);
      const cpuBefore = { recv: snapshot([receiver.pid]), pg: snapshot(pgPids), sender: process.cpuUsage() };
      t = now();
      const moved = await pumpAll(src, api, channelId, inflight);
      const rate = moved / ((now() - t) / 1000);
      const senderCpu = process.cpuUsage(cpuBefore.sender);
      const cpu = {
        sender: round((senderCpu.user + senderCpu.system) / 1000 / moved, 3),
        receiver: round(cpuBetween(cpuBefore.recv, snapshot([receiver.pid])) / moved, 3),
        pg: round(cpuBetween(cpuBefore.pg, snapshot(await backendPids(dbName))) / moved, 3),
      };
      const { rows: cnt } = await probe.query<{ n: number }>('SELECT count(*)::int AS n FROM dst_posts');
      if (cnt[0].n !== opts.posts) throw new Error(`raw pipeline (${inflight} in flight) moved ${cnt[0].n} of ${opts.posts} posts`);
      inflightRuns.push({ inflight, posts_per_s: Math.round(rate) });
      if (inflight === 1) {
        pipelineRate = rate;
        pipelineCpu = cpu;
      }
      log(`raw pipeline, ${inflight} page(s) in flight: ${Math.round(rate)} posts/s (${moved} posts in 100-post pages; CPU ms per post sender ${cpu.sender}, receiver ${cpu.receiver}, pg ${cpu.pg})`);
    }
    const best = inflightRuns.reduce((a, b) => (b.posts_per_s > a.posts_per_s ? b : a));
    const cursor0 = await probe.query<{ m: string }>('SELECT coalesce(max(seq), 0) AS m FROM src_posts');
    let cursor = Number(cursor0.rows[0].m);

    // 6a: the raw pipeline, new-post latency at a steady rate, measured with the same poller as the servers.
    const watcher = new PostWatcher(probe, channelId, opts.pollMs, 'dst_posts');
    await watcher.start();
    let pumping = true;
    const pump = (async () => {
      while (pumping) {
        const r = await pumpOnce(src, api, channelId, cursor);
        cursor = r.cursor;
        if (!r.moved) await sleep(1);
      }
    })();
    const writer = await connectDb(url);
    const committed = new Map<string, number>();
    const total = Math.round(opts.rate * opts.lagS);
    const t0 = now();
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / opts.rate;
      if (due - now() > 1) await sleep(due - now() - 0.5);
      const [p] = fakePosts(1, channelId, users);
      await writer.query(multiRowInsert('src_posts', [p], false));
      committed.set(p.id, now());
    }
    await watcher.waitForAll(committed.keys(), 30_000, 'raw pipeline latency run');
    pumping = false;
    await pump;
    await watcher.stop();
    await writer.end();
    const lag = percentiles([...committed].map(([id, at]) => watcher.seen.get(id)! - at));
    log(`raw pipeline latency: p50 ${lag.p50} ms, p95 ${lag.p95} ms, p99 ${lag.p99} ms (${lag.n} posts at ${opts.rate}/s, poll ${opts.pollMs} ms)`);
    return {
      insert_posts_per_s: Math.round(insertRate),
      pipeline_posts_per_s: Math.round(pipelineRate),
      pipeline_inflight: inflightRuns,
      limit_pipeline_posts_per_s: best.posts_per_s,
      limit_inflight: best.inflight,
      pipeline_lag_ms: lag,
      posts: opts.posts,
      receiver_rss_peak_mb: round(receiver.rss.peakMb()),
      pipeline_cpu_ms_per_post: pipelineCpu,
      poll_interval_ms: opts.pollMs,
    };
  } finally {
    api.close();
    await receiver.stop();
    await src.end().catch(() => undefined);
    await probe.end().catch(() => undefined);
    if (!opts.keep) {
      unregisterDb();
      await dropDatabase(dbName);
    }
  }
}
