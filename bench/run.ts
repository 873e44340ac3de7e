import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, removeSnapshot, removeStaleSnapshots, ROOT } from './lib/build.js';
import { isAborted, onCleanup, runWithCleanup } from './lib/cleanup.js';
import { adminClient, checkServices, closeAdminClient, makeRunId, removeLeftovers, runIsGone } from './lib/infra.js';
import { parseOptions, type ScenarioName } from './lib/options.js';
import { summarizeProfiles } from './lib/profile.js';
import { closeRedisStats } from './lib/service-stats.js';
import { buildJson, buildMarkdown, buildSvg, codeInfo, markdownTable, type RunResults, targetRows } from './lib/report.js';
import { BENCH_SERVER_ENV, LOG_DIR, PROFILE_DIR } from './lib/server-process.js';
import { runBaseline } from './scenarios/baseline.js';
import { runCatchup } from './scenarios/catchup.js';
import { runCatchupScale } from './scenarios/catchup-scale.js';
import { runConsistency } from './scenarios/consistency.js';
import type { Ctx } from './scenarios/common.js';
import { runFanout } from './scenarios/fanout.js';
import { LAG_POLL_MS, runLag } from './scenarios/lag.js';
import { runScale } from './scenarios/scale.js';
import { runThroughput } from './scenarios/throughput.js';
import { runWebSocket } from './scenarios/websocket.js';

/**
 * npm run bench [-- --quick | --posts N | --remotes N | --duration S | --rate R | ...]
 * Starts every server it needs as a child process on the local PostgreSQL and Redis, runs the scenarios of
 * issue 8 and the baselines in the same run, and writes bench/results/latest.{json,md} and lag.svg. Targets
 * are reported, never asserted: the exit code is non-zero only when a scenario could not run.
 */
const RESULTS = join(ROOT, 'bench/results');
const started = Date.now();
const log = (msg: string) => console.log(`[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${msg}`);

await runWithCleanup(async () => {
  const opts = parseOptions(process.argv.slice(2));
  const runId = makeRunId();
  const ctx: Ctx = { runId, opts, log };
  log(
    `run ${runId}: ${opts.quick ? 'quick' : 'full'}; posts ${opts.posts}, remotes ${opts.remotes}, lag ${opts.rate}/s for ${opts.durationS} s, writers ${opts.writers}, consistency check of ${opts.consistencyPosts} posts`,
  );
  if (opts.serverNodeOptions) BENCH_SERVER_ENV.NODE_OPTIONS = opts.serverNodeOptions;
  Object.assign(BENCH_SERVER_ENV, opts.serverEnv);
  await checkServices();
  const load0 = loadavg()[0];
  if (load0 > cpus().length / 2) log(`warning: load average ${load0.toFixed(1)} on ${cpus().length} cores before the run: other work is running, figures will be low`);
  await adminClient();
  onCleanup('close the admin connection', closeAdminClient);
  onCleanup('close the Redis INFO connection', closeRedisStats);
  const leftovers = await removeLeftovers();
  if (leftovers.length) log(`removed leftovers of earlier runs: ${leftovers.join(', ')}`);
  removeStaleSnapshots(runIsGone);
  onCleanup('remove dist snapshot', () => removeSnapshot(runId));
  await ensureBuilt(runId, log);
  mkdirSync(LOG_DIR, { recursive: true });

  const results: RunResults = { errors: {} };
  /** 1-minute load average around each scenario: a busy machine explains low figures. */
  const load: Record<string, { before: number; after: number }> = {};
  // A soft budget: a scenario that would start after it is skipped (and named in the report) rather than
  // letting a slow machine run on and on (a full run takes about 15-20 minutes on 2 quiet cores).
  const budgetMs = (opts.quick ? 10 : 22) * 60_000;
  const scenario = async <T>(name: ScenarioName, label: string, fn: () => Promise<T>): Promise<T | undefined> => {
    if (!opts.only.has(name) || isAborted()) return undefined;
    if (Date.now() - started > budgetMs) {
      results.errors[label] = `skipped: the run's ${budgetMs / 60_000}-minute budget was used up before it could start`;
      log(`${label} skipped (time budget)`);
      return undefined;
    }
    const before = loadavg()[0];
    // The previous scenario's own servers still weigh in the 1-minute average: warn only well above it.
    if (before > cpus().length + 1.5) log(`warning: load average ${before.toFixed(1)} on ${cpus().length} cores before ${label}: other work is running, figures will be low`);
    log(`=== ${label} ===`);
    try {
      return await fn();
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      results.errors[label] = msg;
      log(`${label} FAILED: ${msg}`);
      return undefined;
    } finally {
      load[label] = { before: +before.toFixed(2), after: +loadavg()[0].toFixed(2) };
    }
  };

  results.baseline = await scenario('baseline', 'baseline', () =>
    runBaseline({ runId, posts: opts.baselinePosts, rate: opts.rate, lagS: opts.baselineLagS, pollMs: LAG_POLL_MS, keep: opts.keep, log }),
  );
  results.throughput = await scenario('throughput', 'throughput', () => runThroughput(ctx));
  results.lagDefault = await scenario('lag', 'lag_delay_default', () => runLag(ctx, undefined, 'lagd'));
  results.lag0 = await scenario('lag', 'lag_delay_0', () => runLag(ctx, 0, 'lag0'));
  results.fanout = await scenario('fanout', 'fanout', () => runFanout(ctx));
  results.catchup = await scenario('catchup', 'catchup', () => runCatchup(ctx));
  results.websocket = await scenario('websocket', 'websocket', () => runWebSocket(ctx));
  results.consistency = await scenario('consistency', 'consistency', () => runConsistency(ctx));
  results.catchupScale = await scenario('catchup_scale', 'catchup_scale', () => runCatchupScale(ctx));
  // Last: its idle part shares 1,000 channels with 10 remotes through the API, the longest set-up of the run.
  results.scale = await scenario('scale', 'scale', () => runScale(ctx));

  // An interrupted run leaves the previous results in place.
  if (isAborted()) return;
  const json = buildJson(results, opts, {
    runId,
    startedAt: new Date(started),
    durationS: (Date.now() - started) / 1000,
    settings: { ...BENCH_SERVER_ENV, SYNC_DELAY_MS: '250 (0 in the SYNC_DELAY_MS=0 lag run)' },
    code: codeInfo(ROOT),
  });
  json.load_average = load;
  if (opts.profile) {
    json.profile = [
      ...summarizeProfiles(PROFILE_DIR, runId, results.throughput?.api_only_profile_windows, 'API writes, unshared channel'),
      ...summarizeProfiles(PROFILE_DIR, runId, results.throughput?.profile_windows, 'throughput flood'),
      ...summarizeProfiles(PROFILE_DIR, runId, results.throughput?.sync_only_profile_windows, 'sync engine alone'),
      ...summarizeProfiles(PROFILE_DIR, runId, results.catchup?.profile_windows, 'catch-up'),
      ...summarizeProfiles(PROFILE_DIR, runId, results.catchupScale?.profile_windows, 'catch-up at scale'),
    ];
  }
  const rows = targetRows(results);
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'latest.json'), JSON.stringify(json, null, 2) + '\n');
  writeFileSync(join(RESULTS, 'latest.md'), buildMarkdown(json, rows, results));
  writeFileSync(join(RESULTS, 'lag.svg'), buildSvg(results, json));
  log(`wrote bench/results/latest.json, latest.md, lag.svg; server logs in bench/results/logs/${runId}-*.log`);
  console.log(`\n${markdownTable(rows)}\n`);
  const failed = Object.keys(results.errors);
  if (failed.length) throw new Error(`scenarios failed: ${failed.join(', ')} (details in bench/results/latest.md)`);
});
