import { execSync } from 'node:child_process';
import { cpus, freemem, release, totalmem } from 'node:os';
import type { BaselineResult } from '../scenarios/baseline.js';
import type { CatchupResult } from '../scenarios/catchup.js';
import type { CatchupScaleResult } from '../scenarios/catchup-scale.js';
import type { ScaleResult } from '../scenarios/scale.js';
import type { ConsistencyBenchResult } from '../scenarios/consistency.js';
import type { FanoutResult } from '../scenarios/fanout.js';
import type { LagResult } from '../scenarios/lag.js';
import type { ThroughputResult } from '../scenarios/throughput.js';
import type { WebSocketResult } from '../scenarios/websocket.js';
import type { BenchOptions } from './options.js';
import { round } from './stats.js';
import { lagChart } from './svg.js';

export interface RunResults {
  baseline?: BaselineResult;
  throughput?: ThroughputResult;
  lagDefault?: LagResult;
  lag0?: LagResult;
  fanout?: FanoutResult;
  catchup?: CatchupResult;
  websocket?: WebSocketResult;
  consistency?: ConsistencyBenchResult;
  scale?: ScaleResult;
  catchupScale?: CatchupScaleResult;
  errors: Record<string, string>;
}

export interface TargetRow {
  figure: string;
  measured: number | null;
  unit: string;
  target: string;
  baseline: number | null;
  baseline_what: string;
  /** measured / baseline. */
  ratio: number | null;
  met: boolean | null;
}

/** Which code was measured: the commit, and whether src/ or migrations/ had uncommitted changes. */
export function codeInfo(root: string): { commit: string; dirty: boolean } {
  const git = (args: string) => execSync(`git ${args}`, { cwd: root, encoding: 'utf8', timeout: 5000 }).trim();
  try {
    return { commit: git('rev-parse --short HEAD'), dirty: git('status --porcelain -- src migrations') !== '' };
  } catch {
    return { commit: 'unknown', dirty: true };
  }
}

export function machineInfo(): Record<string, unknown> {
  let postgres = 'unknown';
  try {
    postgres = execSync('psql -h 127.0.0.1 -U postgres -At -c "SHOW server_version"', { encoding: 'utf8', timeout: 5000 }).trim();
  } catch {
    // psql missing: leave unknown
  }
  return {
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    os: `${process.platform} ${release()}`,
    memory_gb: round(totalmem() / 1024 ** 3, 1),
    free_memory_gb_at_start: round(freemem() / 1024 ** 3, 1),
    postgres,
  };
}

const num = (x: number | undefined | null): number | null => (x === undefined || x === null || !Number.isFinite(x) ? null : x);
const ratio = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : round(a / b, 3));

/** Issue 17's figures: the limit, many channels, idle cost, catch-up at scale, the API against its own baseline. */
function scaleRows(r: RunResults): TargetRow[] {
  const rows: TargetRow[] = [];
  const limit = num(r.baseline?.limit_pipeline_posts_per_s);
  const so = num(r.throughput?.sync_only?.posts_per_s);
  const soRatio = ratio(so, limit);
  rows.push({
    figure: `Sync engine alone against the limit (raw pipeline, best of 1/4/8 pages in flight: ${r.baseline?.limit_inflight ?? '?'})`,
    measured: so,
    unit: 'posts/s',
    target: 'ratio ≥ 0.5',
    baseline: limit,
    baseline_what: 'limit_pipeline_posts_per_s',
    ratio: soRatio,
    met: soRatio === null ? null : soRatio >= 0.5,
  });
  const pts = r.scale?.points ?? [];
  const first = pts[0];
  const last = pts[pts.length - 1];
  if (first && last && last !== first) {
    const cr = ratio(last.cpu_ms_per_post.total, first.cpu_ms_per_post.total);
    rows.push({
      figure: `CPU per post (all processes, PostgreSQL and Redis) at ${last.channels} shared channels, ${r.scale!.remotes} remotes, ${r.scale!.rate} posts/s Zipf-spread`,
      measured: last.cpu_ms_per_post.total,
      unit: 'ms',
      target: 'ratio ≤ 1.5',
      baseline: first.cpu_ms_per_post.total,
      baseline_what: `same at ${first.channels} channel(s), ms`,
      ratio: cr,
      met: cr === null ? null : cr <= 1.5,
    });
    const lr = ratio(last.lag_ms.p99, first.lag_ms.p99);
    rows.push({
      figure: `Lag p99 at ${last.channels} shared channels (default delay)`,
      measured: last.lag_ms.p99,
      unit: 'ms',
      target: 'ratio ≤ 2',
      baseline: first.lag_ms.p99,
      baseline_what: `same at ${first.channels} channel(s), ms`,
      ratio: lr,
      met: lr === null ? null : lr <= 2,
    });
  }
  const idle = r.scale?.idle;
  if (idle) {
    for (const [k, v] of [
      ['A', idle.cpu_pct.A],
      ['PostgreSQL (A)', idle.cpu_pct.pg],
      ['Redis', idle.cpu_pct.redis],
      ['busiest remote', idle.cpu_pct.remotes_max],
    ] as const) {
      rows.push({
        figure: `Idle CPU of ${k}: ${idle.channels} shared channels, ${idle.remotes} remotes, nothing changing (${idle.duration_s} s)`,
        measured: v,
        unit: '% of a core',
        target: '< 2%',
        baseline: null,
        baseline_what: '—',
        ratio: null,
        met: v < 2,
      });
    }
    rows.push({
      figure: "Idle Redis commands per second of A (on A's keys, MONITOR)",
      measured: idle.redis_cmds_per_s,
      unit: '/s',
      target: '< 50',
      baseline: null,
      baseline_what: '—',
      ratio: null,
      met: idle.redis_cmds_per_s < 50,
    });
    rows.push({
      figure: "Idle PostgreSQL statements per second (A's database, transactions)",
      measured: idle.pg_statements_per_s,
      unit: '/s',
      target: '—',
      baseline: null,
      baseline_what: '—',
      ratio: null,
      met: null,
    });
  }
  const cs = r.catchupScale;
  const csBase = cs && limit ? round(cs.posts / limit, 2) : null;
  rows.push({
    figure: cs ? `Catch-up of ${cs.posts.toLocaleString('en-US')} posts over ${cs.channels} channels after B's restart (drain ${cs.drain_posts_per_s} posts/s)` : 'Catch-up at scale',
    measured: num(cs?.catchup_s),
    unit: 's',
    target: '≤ 20 s',
    baseline: csBase,
    baseline_what: 'same posts at the limit, s',
    ratio: ratio(num(cs?.catchup_s), csBase),
    met: cs ? cs.catchup_s <= 20 : null,
  });
  const api = r.throughput?.api_only;
  rows.push({
    figure: "A's API write rate, unshared channel, against a raw per-request server (node:http + pg: token, membership, post + journal row)",
    measured: num(api?.posts_per_s),
    unit: 'posts/s',
    target: 'ratio ≥ 0.5',
    baseline: num(api?.baseline_posts_per_s),
    baseline_what: 'raw per-request API, posts/s',
    ratio: num(api?.ratio),
    met: api ? api.ratio >= 0.5 : null,
  });
  return rows;
}

export function targetRows(r: RunResults): TargetRow[] {
  const rows: TargetRow[] = [];
  const pipe = num(r.baseline?.pipeline_posts_per_s);
  const bl = r.baseline?.pipeline_lag_ms;
  const thr = num(r.throughput?.posts_per_s);
  const thrRatio = ratio(thr, pipe);
  rows.push({
    figure: `Throughput A→B (${r.throughput?.posts ?? '?'} posts as fast as A takes them)`,
    measured: thr,
    unit: 'posts/s',
    target: 'ratio ≥ 0.30',
    baseline: pipe,
    baseline_what: 'raw pipeline (6a), posts/s',
    ratio: thrRatio,
    met: thrRatio === null ? null : thrRatio >= 0.3,
  });
  const sum = (o: Record<string, number> | undefined, keys?: string[]) =>
    o ? round(Object.entries(o).filter(([k]) => (keys ? keys.includes(k) : k !== 'harness')).reduce((a, [, v]) => a + v, 0), 3) : null;
  const syncOnly = num(r.throughput?.sync_only?.posts_per_s);
  const syncOnlyRatio = ratio(syncOnly, pipe);
  rows.push({
    figure: `Sync engine alone: ${r.throughput?.sync_only?.posts ?? '?'} posts waiting on A (its sync queue paused), resume to last on B; warm processes, A's API not in the way`,
    measured: syncOnly,
    unit: 'posts/s',
    target: 'ratio ≥ 0.30 (read against the sync engine)',
    baseline: pipe,
    baseline_what: 'raw pipeline (6a), posts/s',
    ratio: syncOnlyRatio,
    met: syncOnlyRatio === null ? null : syncOnlyRatio >= 0.3,
  });
  const drain = num(r.catchup?.drain_posts_per_s);
  const drainRatio = ratio(drain, pipe);
  rows.push({
    figure: `Sync drain rate after B's restart: ${r.catchup?.backlog.posts ?? '?'} backlog posts, first to last on B (B's code still cold)`,
    measured: drain,
    unit: 'posts/s',
    target: '—',
    baseline: pipe,
    baseline_what: 'raw pipeline (6a), posts/s',
    ratio: drainRatio,
    met: null,
  });
  const cpuServer = sum(r.throughput?.cpu_ms_per_post);
  const cpuBase = sum(r.baseline?.pipeline_cpu_ms_per_post);
  rows.push({
    figure: 'CPU per post, write on A + sync to B (A, B and their PostgreSQL backends; machine-independent-ish)',
    measured: cpuServer,
    unit: 'ms',
    target: '—',
    baseline: cpuBase,
    baseline_what: 'raw pipeline sender + receiver + PostgreSQL, ms',
    ratio: ratio(cpuServer, cpuBase),
    met: null,
  });
  rows.push({
    figure: "A's API write rate, unshared channel (no sync work)",
    measured: num(r.throughput?.api_only.posts_per_s),
    unit: 'posts/s',
    target: '—',
    baseline: num(r.baseline?.insert_posts_per_s),
    baseline_what: 'raw batched INSERT (6b), posts/s',
    ratio: ratio(num(r.throughput?.api_only.posts_per_s), num(r.baseline?.insert_posts_per_s)),
    met: null,
  });
  rows.push({
    figure: "A's API write rate during the flood",
    measured: num(r.throughput?.write_posts_per_s),
    unit: 'posts/s',
    target: '—',
    baseline: num(r.baseline?.insert_posts_per_s),
    baseline_what: 'raw batched INSERT (6b), posts/s',
    ratio: ratio(num(r.throughput?.write_posts_per_s), num(r.baseline?.insert_posts_per_s)),
    met: null,
  });
  const d0 = r.lag0?.lag_ms;
  for (const [k, target] of [
    ['p50', null],
    ['p95', null],
    ['p99', 20],
  ] as const) {
    const m = num(d0?.[k]);
    // Issue 17: p50 within 2x the raw pipeline's p50, p99 at most 20 ms.
    const rel = k === 'p50';
    const rt = ratio(m, num(bl?.[k]));
    rows.push({
      figure: `Lag ${k}, SYNC_DELAY_MS=0, ${r.lag0?.rate ?? '?'} posts/s`,
      measured: m,
      unit: 'ms',
      target: rel ? 'ratio ≤ 2' : target === null ? '—' : `≤ ${target} ms`,
      baseline: num(bl?.[k]),
      baseline_what: `raw pipeline ${k}, ms`,
      ratio: rt,
      met: rel ? (rt === null ? null : rt <= 2) : target === null || m === null ? null : m <= target,
    });
  }
  const dd = r.lagDefault?.lag_ms;
  const delay = r.lagDefault?.sync_delay_ms ?? 250;
  for (const k of ['p50', 'p95', 'p99'] as const) {
    const m = num(dd?.[k]);
    const base = bl ? round(delay + bl[k]) : null;
    rows.push({
      figure: `Lag ${k}, SYNC_DELAY_MS=${delay} (default), ${r.lagDefault?.rate ?? '?'} posts/s`,
      measured: m,
      unit: 'ms',
      target: k === 'p50' ? `≤ ${delay + 50} ms` : '—',
      baseline: base,
      baseline_what: `delay + raw pipeline ${k}, ms`,
      ratio: ratio(m, base),
      met: k === 'p50' && m !== null ? m <= delay + 50 : null,
    });
  }
  const perRemoteBase = thr === null || !r.fanout ? null : round(thr / r.fanout.remotes);
  const singleLag = num(r.lagDefault?.lag_ms.p50);
  for (const f of r.fanout?.fanout ?? []) {
    const rt = ratio(f.posts_per_s, perRemoteBase);
    rows.push({
      figure: `Fan-out 1→${r.fanout!.remotes}: throughput to ${f.remote}`,
      measured: f.posts_per_s,
      unit: 'posts/s',
      target: 'ratio ≥ 0.80',
      baseline: perRemoteBase,
      baseline_what: `single-remote throughput / ${r.fanout!.remotes}`,
      ratio: rt,
      met: rt === null ? null : rt >= 0.8,
    });
    rows.push({
      figure: `Fan-out 1→${r.fanout!.remotes}: lag p50 to ${f.remote}, ${r.fanout!.lag_rate} posts/s`,
      measured: f.lag_p50_ms,
      unit: 'ms',
      target: '—',
      baseline: singleLag,
      baseline_what: 'single-remote lag p50 (default delay), ms',
      ratio: ratio(f.lag_p50_ms, singleLag),
      met: null,
    });
  }
  const cu = num(r.catchup?.catchup_s);
  const items = r.catchup ? r.catchup.backlog.posts + r.catchup.backlog.reactions + r.catchup.backlog.edits : null;
  const cuBase = items !== null && pipe ? round(items / pipe, 3) : null;
  rows.push({
    figure: r.catchup
      ? `Catch-up of ${r.catchup.backlog.posts} posts + ${r.catchup.backlog.reactions} reactions + ${r.catchup.backlog.edits} edits after B's restart`
      : 'Catch-up after B restart',
    measured: cu,
    unit: 's',
    target: '≤ 10 s',
    baseline: cuBase,
    baseline_what: 'same item count through the raw pipeline, s',
    ratio: ratio(cu, cuBase),
    met: cu === null ? null : cu <= 10,
  });
  const ws = r.websocket;
  if (ws) {
    const what = `${ws.active_members} members + ${ws.idle_connections} idle sockets, ${ws.rate} posts/s`;
    for (const k of ['p50', 'p99'] as const) {
      rows.push({
        figure: `WebSocket delivery ${k}, create_at (just before commit) to each member's socket (${what})`,
        measured: num(ws.latency_ms[k]),
        unit: 'ms',
        target: '—',
        baseline: null,
        baseline_what: 'none',
        ratio: null,
        met: null,
      });
    }
    rows.push({
      figure: `WebSocket RSS per 1,000 idle connections (${ws.idle_connections} open; RSS before any socket ${ws.rss_before_connections_mb} MB)`,
      measured: num(ws.rss_per_1000_connections_mb),
      unit: 'MB',
      target: '—',
      baseline: num(ws.heap_per_1000_connections_mb),
      baseline_what: 'V8 heap used + external per 1,000, uncollected garbage included, MB',
      ratio: null,
      met: null,
    });
    rows.push({
      figure: `WebSocket CPU per delivered event (server + PostgreSQL, with sockets minus the same posts without; ${ws.delivered} frames)`,
      measured: num(ws.cpu_us_per_delivered_event),
      unit: 'µs',
      target: '—',
      baseline: num(ws.cpu_us_per_delivered_event_all_in),
      baseline_what: 'all server + PostgreSQL CPU of the run per frame, post writes included, µs',
      ratio: null,
      met: null,
    });
  }
  const cons = r.consistency;
  const cpuOf = (x: Record<string, number> | undefined) => (x ? round(Object.values(x).reduce((a, b) => a + b, 0), 1) : null);
  rows.push(
    {
      figure: `Consistency check of an identical ${cons ? cons.posts.toLocaleString('en-US') : '?'}-post channel, A with B: wall time (median of ${cons?.consistent_runs.length ?? '?'})`,
      measured: num(cons?.consistent.wall_ms),
      unit: 'ms',
      target: '—',
      baseline: cons ? cons.plan.ms : null,
      baseline_what: "one index-only scan of A's posts for the whole-channel digest, ms",
      ratio: ratio(num(cons?.consistent.wall_ms), cons ? cons.plan.ms : null),
      met: null,
    },
    {
      figure: 'Consistency check of that channel: payload bytes exchanged (digests, both ways)',
      measured: num(cons?.consistent.digest_bytes),
      unit: 'bytes',
      target: 'a few kB',
      baseline: null,
      baseline_what: '—',
      ratio: null,
      met: cons ? cons.consistent.digest_bytes < 10_000 : null,
    },
    {
      figure: 'Consistency check of that channel: CPU (A, B and their PostgreSQL backends)',
      measured: cpuOf(cons?.consistent.cpu_ms),
      unit: 'ms',
      target: '—',
      baseline: null,
      baseline_what: '—',
      ratio: null,
      met: null,
    },
    {
      figure: `Consistency check with ${cons?.divergent.missing ?? '?'} posts missing on B, found and repaired: wall time`,
      measured: num(cons?.divergent.wall_ms),
      unit: 'ms',
      target: '—',
      baseline: num(cons?.consistent.wall_ms),
      baseline_what: 'the same check of the identical channel, ms',
      ratio: ratio(num(cons?.divergent.wall_ms), num(cons?.consistent.wall_ms)),
      met: null,
    },
    {
      figure: `Consistency check with ${cons?.divergent.missing ?? '?'} posts missing on B: payload bytes of digests and item lists, both ways`,
      measured: num(cons?.divergent.digest_bytes),
      unit: 'bytes',
      target: 'a few kB',
      baseline: null,
      baseline_what: '—',
      ratio: null,
      met: cons ? cons.divergent.repaired === cons.divergent.missing && cons.divergent.digest_bytes < 16_000 : null,
    },
  );
  rows.push(...scaleRows(r));
  const { peak, idle } = rssByInstance(r);
  for (const name of Object.keys(peak).sort()) {
    rows.push({
      figure: `Peak RSS of ${name} (all scenarios)`,
      measured: peak[name],
      unit: 'MB',
      target: '≤ 300 MB',
      baseline: idle[name] ?? null,
      baseline_what: 'same instance idle after start-up, MB',
      ratio: ratio(peak[name], idle[name] ?? null),
      met: peak[name] <= 300,
    });
  }
  return rows;
}

function scenarioList(r: RunResults): Array<[string, { rss_peak_mb: Record<string, number>; rss_idle_mb: Record<string, number> } | undefined]> {
  return [
    ['throughput', r.throughput],
    ['lag_delay_default', r.lagDefault],
    ['lag_delay_0', r.lag0],
    ['fanout', r.fanout],
    ['catchup', r.catchup],
    ['websocket', r.websocket],
    ['consistency', r.consistency],
  ];
}

export function rssByInstance(r: RunResults): { peak: Record<string, number>; idle: Record<string, number>; byScenario: Record<string, Record<string, number>> } {
  const peak: Record<string, number> = {};
  const idle: Record<string, number> = {};
  const byScenario: Record<string, Record<string, number>> = {};
  for (const [name, s] of scenarioList(r)) {
    if (!s) continue;
    byScenario[name] = s.rss_peak_mb;
    for (const [inst, mb] of Object.entries(s.rss_peak_mb)) peak[inst] = Math.max(peak[inst] ?? 0, mb);
    for (const [inst, mb] of Object.entries(s.rss_idle_mb)) idle[inst] = Math.min(idle[inst] ?? Infinity, mb);
  }
  return { peak, idle, byScenario };
}

const pick = (p: { p50: number; p95: number; p99: number } | undefined) => (p ? { p50: p.p50, p95: p.p95, p99: p.p99 } : null);

export function buildJson(
  r: RunResults,
  opts: BenchOptions,
  meta: { runId: string; startedAt: Date; durationS: number; settings: Record<string, string>; code: { commit: string; dirty: boolean } },
): Record<string, unknown> {
  const { peak, byScenario } = rssByInstance(r);
  const thr = num(r.throughput?.posts_per_s);
  const pipe = num(r.baseline?.pipeline_posts_per_s);
  return {
    generated_at: new Date().toISOString(),
    run_id: meta.runId,
    mode: opts.quick ? 'quick' : 'full',
    duration_s: round(meta.durationS, 1),
    options: {
      posts: opts.posts,
      remotes: opts.remotes,
      duration_s: opts.durationS,
      rate: opts.rate,
      writers: opts.writers,
      catchup: opts.catchup,
      consistency_posts: opts.consistencyPosts,
      baseline_posts: opts.baselinePosts,
      scenarios: [...opts.only],
    },
    machine: machineInfo(),
    code: meta.code,
    server_settings: meta.settings,
    throughput_posts_per_s: thr,
    baseline_pipeline_posts_per_s: pipe,
    throughput_ratio: ratio(thr, pipe),
    sync_only_posts_per_s: num(r.throughput?.sync_only?.posts_per_s),
    sync_only_ratio: ratio(num(r.throughput?.sync_only?.posts_per_s), pipe),
    limit_pipeline_posts_per_s: num(r.baseline?.limit_pipeline_posts_per_s),
    limit_pipeline_inflight: r.baseline?.pipeline_inflight ?? null,
    sync_only_ratio_vs_limit: ratio(num(r.throughput?.sync_only?.posts_per_s), num(r.baseline?.limit_pipeline_posts_per_s)),
    scale: (r.scale?.points ?? []).map((p) => ({
      channels: p.channels,
      cpu_ms_per_post: p.cpu_ms_per_post,
      redis_cmds_per_post: p.redis_cmds_per_post,
      jobs_per_post: p.jobs_per_post,
      lag_ms: { p50: p.lag_ms.p50, p99: p.lag_ms.p99 },
    })),
    idle: r.scale?.idle
      ? {
          channels: r.scale.idle.channels,
          remotes: r.scale.idle.remotes,
          cpu_pct: { A: r.scale.idle.cpu_pct.A, pg: r.scale.idle.cpu_pct.pg, redis: r.scale.idle.cpu_pct.redis },
          redis_cmds_per_s: r.scale.idle.redis_cmds_per_s,
          pg_statements_per_s: r.scale.idle.pg_statements_per_s,
        }
      : null,
    catchup_100k_s: num(r.catchupScale?.catchup_s),
    catchup_100k_drain_posts_per_s: num(r.catchupScale?.drain_posts_per_s),
    api_write: r.throughput?.api_only
      ? { posts_per_s: r.throughput.api_only.posts_per_s, baseline_posts_per_s: r.throughput.api_only.baseline_posts_per_s, ratio: r.throughput.api_only.ratio }
      : null,
    lag_breakdown_delay_0: r.lag0?.breakdown ?? null,
    write_posts_per_s: num(r.throughput?.write_posts_per_s),
    baseline_insert_posts_per_s: num(r.baseline?.insert_posts_per_s),
    lag_ms: { delay_default: pick(r.lagDefault?.lag_ms), delay_0: pick(r.lag0?.lag_ms) },
    baseline_pipeline_lag_ms: pick(r.baseline?.pipeline_lag_ms),
    fanout: (r.fanout?.fanout ?? []).map((f) => ({ remote: f.remote, posts_per_s: f.posts_per_s, lag_p50_ms: f.lag_p50_ms })),
    catchup_s: num(r.catchup?.catchup_s),
    websocket: r.websocket
      ? {
          latency_ms: pick(r.websocket.latency_ms),
          rss_per_1000_connections_mb: r.websocket.rss_per_1000_connections_mb,
          heap_per_1000_connections_mb: r.websocket.heap_per_1000_connections_mb,
          cpu_us_per_delivered_event: r.websocket.cpu_us_per_delivered_event,
          missing: r.websocket.missing,
          duplicates: r.websocket.duplicates,
        }
      : null,
    consistency_check: r.consistency
      ? {
          posts: r.consistency.posts,
          wall_ms: r.consistency.consistent.wall_ms,
          digest_bytes: r.consistency.consistent.digest_bytes,
          cpu_ms: r.consistency.consistent.cpu_ms,
          divergent_wall_ms: r.consistency.divergent.wall_ms,
          divergent_digest_bytes: r.consistency.divergent.digest_bytes,
        }
      : null,
    rss_peak_mb: peak,
    rss_peak_mb_by_scenario: byScenario,
    targets: targetRows(r),
    errors: r.errors,
    scenarios: {
      baseline: r.baseline ?? null,
      throughput: r.throughput ?? null,
      lag_delay_default: r.lagDefault ?? null,
      lag_delay_0: r.lag0 ?? null,
      fanout: r.fanout ?? null,
      catchup: r.catchup ?? null,
      websocket: r.websocket ?? null,
      consistency: r.consistency ?? null,
      scale: r.scale ?? null,
      catchup_scale: r.catchupScale ?? null,
    },
  };
}

const fmt = (x: number | null, unit = ''): string => {
  if (x === null) return 'n/a';
  const s = Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : String(round(x, 2));
  return unit ? `${s} ${unit}` : s;
};

export function markdownTable(rows: TargetRow[]): string {
  const lines = ['| figure | measured | target | baseline (same run) | ratio | met? |', '|---|---:|---|---:|---:|:---:|'];
  for (const r of rows) {
    const met = r.met === null ? '—' : r.met ? 'yes' : '**no**';
    lines.push(`| ${r.figure} | ${fmt(r.measured, r.unit)} | ${r.target} | ${fmt(r.baseline)} (${r.baseline_what}) | ${r.ratio === null ? 'n/a' : r.ratio.toFixed(r.ratio < 10 ? 3 : 1)} | ${met} |`);
  }
  return lines.join('\n');
}

export function buildMarkdown(json: Record<string, any>, rows: TargetRow[], r: RunResults): string {
  const m = json.machine;
  const out: string[] = [];
  out.push(`# Benchmark results (${json.mode} run, ${json.generated_at})`, '');
  out.push(
    `Machine: ${m.cpus} × ${m.cpu_model}, ${m.memory_gb} GB, ${m.os}, Node ${m.node}, PostgreSQL ${m.postgres}. Code: ${json.code.commit}${json.code.dirty ? ' with uncommitted changes in src/' : ''}. Run took ${json.duration_s} s; 1-minute load average around the scenarios: ${Object.entries((json.load_average ?? {}) as Record<string, { before: number; after: number }>).map(([k, v]) => `${k} ${v.before}→${v.after}`).join(', ')}.`,
    '',
  );
  out.push(markdownTable(rows), '');
  out.push('Ratio is measured / baseline. For rates higher is better; for times and memory lower is better.', '');
  out.push('## Details', '');
  if (r.throughput) {
    const t = r.throughput;
    out.push(
      `- Throughput: ${t.posts} posts from ${t.writers} concurrent clients; A answered them at ${t.write_posts_per_s} posts/s; B showed the last one ${t.drain_tail_ms} ms after A's last answer. Lag under the flood: p50 ${t.lag_under_load_ms.p50} ms, p99 ${t.lag_under_load_ms.p99} ms.`,
      `  CPU ms per post: ${Object.entries(t.cpu_ms_per_post).map(([k, v]) => `${k} ${v}`).join(', ')}; busy (% of one core): ${Object.entries(t.busy_pct).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
      `  Memory at the largest sampled RSS during the flood (MB): ${Object.entries(t.memory_at_peak).map(([k, m]) => (m ? `${k} RSS ${m.rss_mb}, V8 heap ${m.heap_used_mb} used of ${m.heap_total_mb}, external ${m.external_mb}` : `${k} n/a`)).join('; ')}; right after it: ${Object.entries(t.memory_after).map(([k, m]) => `${k} RSS ${m.rss_mb}, heap ${m.heap_used_mb}/${m.heap_total_mb}`).join('; ')}.`,
      `  Sync passes during the flood: ${t.stages.passes} (one every ${t.stages.window_ms_per_pass} ms), ${t.stages.messages} messages; B spent ${t.stages.receiver_ms_per_message} ms handling each.`,
      `  The same clients into an unshared channel (A's API with no sync behind it): ${t.api_only.posts} posts at ${t.api_only.posts_per_s} posts/s, CPU ms per post A ${t.api_only.cpu_ms_per_post.A}, pg_A ${t.api_only.cpu_ms_per_post.pg_A}; busy % A ${t.api_only.busy_pct.A}, pg_A ${t.api_only.busy_pct.pg_A}.`,
    );
    if (t.sync_only) {
      const so = t.sync_only;
      out.push(
        `- Sync engine alone: ${so.posts} posts written on A with its sync queue paused, then resumed: ${so.posts_per_s} posts/s from the resume to the last post on B (first post on B ${so.first_post_after_resume_ms} ms after the resume; first to last ${so.first_to_last_posts_per_s} posts/s).`,
        `  CPU ms per post: ${Object.entries(so.cpu_ms_per_post).map(([k, v]) => `${k} ${v}`).join(', ')}; busy (% of one core): ${Object.entries(so.busy_pct).map(([k, v]) => `${k} ${v}`).join(', ')}. ${so.stages.passes} sync passes, ${so.stages.messages} messages; B spent ${so.stages.receiver_ms_per_message} ms handling each.`,
      );
    }
  }
  for (const l of [r.lagDefault, r.lag0]) {
    if (!l) continue;
    out.push(
      `- Lag, SYNC_DELAY_MS=${l.sync_delay_ms}: ${l.posts} posts at ${l.rate}/s for ${l.duration_s} s (${l.failures} failed writes; writer at most ${l.writer_max_behind_ms} ms behind schedule). Measured from A's create_at instead: p50 ${l.lag_from_create_at_ms.p50} ms, p99 ${l.lag_from_create_at_ms.p99} ms. Poll interval on B ${l.poll_interval_ms} ms. Busy (% of one core): ${Object.entries(l.busy_pct).map(([k, v]) => `${k} ${v}`).join(', ')}. ${l.stages.passes} sync passes (${round(l.stages.passes / l.posts, 2)} per post); B handled each message in ${l.stages.receiver_ms_per_message} ms on average.`,
    );
  }
  if (r.fanout) {
    out.push(
      `- Fan-out: A took the ${r.fanout.posts} posts at ${r.fanout.write_posts_per_s} posts/s; lag under the flood (p50/p99): ${r.fanout.fanout.map((f) => `${f.remote} ${f.lag_under_load_ms.p50}/${f.lag_under_load_ms.p99} ms`).join(', ')}; steady-rate lag p99: ${r.fanout.fanout.map((f) => `${f.remote} ${f.lag_ms.p99} ms`).join(', ')}.`,
    );
  }
  if (r.catchup) {
    const c = r.catchup;
    out.push(
      `- Catch-up: A took the backlog in ${c.write_s} s while B was down (SIGKILL). From B's restart: ${c.boot_s} s booting, the first backlog post on B ${c.first_post_after_ready_s} s after B answered, ${c.catchup_after_ready_s} s from B answering until identical (${c.items_per_s} items/s overall; posts drained at ${c.drain_posts_per_s}/s; compared every ${c.compare_interval_ms} ms).`,
      `  Sync passes: ${c.stages.passes} (one every ${c.stages.window_ms_per_pass} ms), ${c.stages.messages} messages; B spent ${c.stages.receiver_ms_per_message} ms handling each (${c.stages.receiver_share_pct}% of the window), the rest is A collecting, sending and saving cursors.`,
      `  CPU ms per backlog item after B was up: ${Object.entries(c.cpu_ms_per_item).map(([k, v]) => `${k} ${v}`).join(', ')}; busy %: ${Object.entries(c.busy_pct).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    );
  }
  if (r.websocket) {
    const w = r.websocket;
    out.push(
      `- WebSocket: one instance, ${w.idle_connections} idle sockets (users in no channel of the load, opened in ${w.connect_s} s) and ${w.active_members} members of one channel with a socket each; ${w.posts} posts at ${w.rate}/s for ${w.duration_s} s (${w.failures} failed writes). ${w.delivered} of ${w.expected_deliveries} posted frames arrived (${w.missing} missing, ${w.duplicates} duplicates). Latency from create_at: p50 ${w.latency_ms.p50} ms, p95 ${w.latency_ms.p95} ms, p99 ${w.latency_ms.p99} ms, max ${w.latency_ms.max} ms; the server's own mean from commit to frames written ${w.server_write_mean_ms ?? 'n/a'} ms.`,
      `  RSS ${w.rss_before_connections_mb} MB before any socket, ${w.rss_with_idle_connections_mb} MB with the idle ones (${w.rss_per_1000_connections_mb} MB per 1,000; V8 heap used + external ${w.heap_per_1000_connections_mb} MB per 1,000, garbage included: RSS does not grow while the heap has committed pages to spare). CPU ms for the same posts without / with the sockets: server ${w.cpu_ms_without_sockets.server} / ${w.cpu_ms_with_sockets.server}, PostgreSQL ${w.cpu_ms_without_sockets.pg} / ${w.cpu_ms_with_sockets.pg}: ${w.cpu_us_per_delivered_event} µs per delivered event (${w.cpu_us_per_delivered_event_all_in} µs all in).`,
    );
  }
  if (r.consistency) {
    const k = r.consistency;
    const cpu = (x: Record<string, number>) => Object.entries(x).map(([n, v]) => `${n} ${v}`).join(', ');
    out.push(
      `- Consistency check (anti-entropy) of a ${k.posts.toLocaleString('en-US')}-post channel shared by A and B (written into both databases, with ${k.other_posts.toLocaleString('en-US')} posts of an unshared channel on A, in ${k.load_s} s, VACUUM ANALYZE'd): identical, ${k.consistent_runs.map((x) => `${x.wall_ms} ms`).join(' / ')} per check (median ${k.consistent.wall_ms} ms, A's own measure ${k.consistent.duration_ms} ms), ${k.consistent.digest_bytes} bytes of digests, CPU ms ${cpu(k.consistent.cpu_ms)}.`,
      `  With ${k.divergent.missing} posts deleted on B: found and repaired (${k.divergent.repaired}) in ${k.divergent.wall_ms} ms, ${k.divergent.digest_bytes} bytes of digests and item lists, ${k.divergent.repair_bytes} bytes of repairs, CPU ms ${cpu(k.divergent.cpu_ms)}.`,
      `  A's whole-channel post digest: ${k.plan.scan}, heap fetches ${k.plan.heap_fetches ?? 'n/a'}, ${k.plan.ms} ms.`,
    );
  }
  if (r.lag0?.breakdown) {
    const b = r.lag0.breakdown;
    out.push(
      `- Where the lag goes at SYNC_DELAY_MS=0 (${b.posts} posts whose sync job, frame and B's envelope were all found; A's create_at to the harness seeing the post on B; means add up, percentiles do not):`,
      '',
      '  | stage | mean ms | p50 ms | p99 ms |',
      '  |---|---:|---:|---:|',
      ...b.stages.map((x) => `  | ${x.stage} | ${x.mean_ms} | ${x.ms.p50} | ${x.ms.p99} |`),
      `  | total | ${b.total_mean_ms} | ${b.total_ms.p50} | ${b.total_ms.p99} |`,
      '',
    );
  }
  if (r.scale) {
    const sc = r.scale;
    out.push(
      `- Many channels: A and ${sc.remotes} remotes, ${sc.rate} posts/s in all, spread Zipf-like (s = 1) over the shared channels, SYNC_DELAY_MS=${sc.sync_delay_ms}; channels shared through the API at ${sc.share_channels_per_s} channels/s (all remotes). Per post written on A and delivered to every remote:`,
      '',
      '  | channels | posts | CPU ms/post (per process; pg = all backends) | total | Redis cmds/post | sync jobs/post | passes/post | pg xacts/post | lag p50 / p99 ms | busiest channel |',
      '  |---:|---:|---|---:|---:|---:|---:|---:|---|---:|',
      ...sc.points.map(
        (p) =>
          `  | ${p.channels} | ${p.posts} | ${Object.entries(p.cpu_ms_per_post)
            .filter(([k]) => k !== 'total')
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')} | ${p.cpu_ms_per_post.total} | ${p.redis_cmds_per_post} | ${p.jobs_per_post} | ${p.passes_per_post} | ${p.pg_xacts_per_post} | ${p.lag_ms.p50} / ${p.lag_ms.p99} | ${Math.round(p.busiest_share * 100)}% |`,
      ),
      '',
    );
    if (sc.idle) {
      const i = sc.idle;
      out.push(
        `- Idle: ${i.channels} channels shared with ${i.remotes} remotes (${i.remote_processes} server processes), nothing changing, ${i.duration_s} s: CPU (% of one core) A ${i.cpu_pct.A}, A's PostgreSQL backends ${i.cpu_pct.pg}, Redis ${i.cpu_pct.redis}, busiest remote ${i.cpu_pct.remotes_max} (its backends ${i.cpu_pct.pg_remotes_max}); Redis ${i.redis_cmds_per_s} commands/s on A's keys (by command: ${Object.entries(i.redis_top_commands).map(([k, v]) => `${k} ${v}`).join(', ')}; the busiest remote's ${i.redis_cmds_per_s_remote_max}/s; the whole Redis server ${i.redis_server_cmds_per_s}/s); PostgreSQL ${i.pg_statements_per_s} statements/s on A's database (${i.pg_statements_per_s_all}/s over all ${i.remotes + 1}); A's sync-queue jobs per second: ${Object.entries(i.jobs_per_s).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}. How: ${i.how}.`,
      );
    }
  }
  if (r.catchupScale) {
    const c = r.catchupScale;
    out.push(
      `- Catch-up at scale: ${c.posts} posts over ${c.channels} shared channels written into A's database (${c.load_s} s, one transaction, each post stamped with its channel's next sequence number) while B was down; identical ${c.catchup_s} s after B's restart (boot ${c.boot_s} s; first backlog post ${c.first_post_after_ready_s} s after B answered); drained at ${c.drain_posts_per_s} posts/s. ${c.stages.passes} passes, ${c.stages.messages} messages, B ${c.stages.receiver_ms_per_message} ms per message (${c.stages.receiver_share_pct}% of the window). CPU ms per post: ${Object.entries(c.cpu_ms_per_post).map(([k, v]) => `${k} ${v}`).join(', ')}; busy %: ${Object.entries(c.busy_pct).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    );
  }
  if (r.throughput?.api_only) {
    const a = r.throughput.api_only;
    out.push(
      `- API write path against its own limit: A took ${a.posts} posts into an unshared channel at ${a.posts_per_s} posts/s (CPU ms per post A ${a.cpu_ms_per_post.A}, pg_A ${a.cpu_ms_per_post.pg_A}); the raw per-request server (bench/baseline/api-server.ts) took the same at ${a.baseline_posts_per_s} posts/s (CPU ms per post ${Object.entries(a.baseline_cpu_ms_per_post).map(([k, v]) => `${k} ${v}`).join(', ')}): ratio ${a.ratio}.`,
    );
  }
  if (r.baseline) {
    const b = r.baseline;
    out.push(
      `- The limit: the raw pipeline with ${b.pipeline_inflight.map((x) => `${x.inflight} page(s) in flight ${x.posts_per_s}`).join(', ')} posts/s; the best, ${b.limit_pipeline_posts_per_s} posts/s, is the limit every sync rate is read against.`,
    );
    out.push(
      `- Baselines: raw batched INSERT ${b.insert_posts_per_s} posts/s; raw pipeline ${b.pipeline_posts_per_s} posts/s over ${b.posts} posts (CPU ms per post: ${Object.entries(b.pipeline_cpu_ms_per_post).map(([k, v]) => `${k} ${v}`).join(', ')}); raw pipeline new-post latency p50 ${b.pipeline_lag_ms.p50} ms, p95 ${b.pipeline_lag_ms.p95} ms, p99 ${b.pipeline_lag_ms.p99} ms (same ${b.poll_interval_ms} ms poller as the lag runs).`,
    );
  }
  const { byScenario } = rssByInstance(r);
  if (Object.keys(byScenario).length) {
    out.push(`- Peak RSS per scenario (MB): ${Object.entries(byScenario).map(([s, v]) => `${s} ${Object.entries(v).map(([k, mb]) => `${k} ${mb}`).join('/')}`).join('; ')}.`);
  }
  out.push(`- Server settings: ${Object.entries(json.server_settings as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(', ')}; everything else at its default.`);
  const profiles = (json.profile ?? []) as Array<{ file: string; profiled_s: number; busy_pct: number; by_area: Array<{ area: string; pct_of_busy: number }>; top_functions: Array<{ fn: string; pct_of_busy: number }> }>;
  if (profiles.length) {
    out.push('', '## Where the CPU goes (node --cpu-prof, self time; thr_* = the throughput flood, cat_* = the catch-up after B restarted)', '');
    for (const p of profiles) {
      out.push(`- **${p.file}**: ${p.profiled_s} s profiled, ${p.busy_pct}% busy. By area: ${p.by_area.slice(0, 8).map((a) => `${a.area} ${a.pct_of_busy}%`).join(', ')}.`);
      out.push(`  Hottest functions: ${p.top_functions.slice(0, 8).map((f) => `\`${f.fn}\` ${f.pct_of_busy}%`).join(', ')}.`);
    }
  }
  if (Object.keys(r.errors).length) {
    out.push('', '## Scenarios that failed', '');
    for (const [s, e] of Object.entries(r.errors)) out.push(`### ${s}`, '', '```', e.slice(0, 4000), '```', '');
  }
  return out.join('\n') + '\n';
}

export function buildSvg(r: RunResults, json: Record<string, any>): string {
  const bl = r.baseline?.pipeline_lag_ms;
  const panels = [];
  const dd = r.lagDefault;
  panels.push({
    title: `SYNC_DELAY_MS=${dd?.sync_delay_ms ?? 250} (default): lag A→B per second, ${dd?.rate ?? '?'} posts/s`,
    series: dd?.series ?? [],
    refs: [{ label: `target p50 ≤ ${(dd?.sync_delay_ms ?? 250) + 50} ms`, value: (dd?.sync_delay_ms ?? 250) + 50, color: '#2ca02c' }],
  });
  const d0 = r.lag0;
  panels.push({
    title: `SYNC_DELAY_MS=0: lag A→B per second, ${d0?.rate ?? '?'} posts/s`,
    series: d0?.series ?? [],
    refs: [
      { label: 'target p50 ≤ 20 ms', value: 20, color: '#2ca02c' },
      { label: 'target p99 ≤ 100 ms', value: 100, color: '#8c564b' },
      ...(bl ? [{ label: `raw pipeline p50 ${bl.p50} ms`, value: bl.p50, color: '#7f7f7f' }] : []),
    ],
  });
  const m = json.machine;
  return lagChart(
    'Shared-channel sync lag (applied on B − committed on A), percentiles per second',
    panels,
    `${json.mode} run ${json.generated_at} · ${m.cpus} × ${m.cpu_model} · Node ${m.node} · PostgreSQL ${m.postgres}`,
  );
}
