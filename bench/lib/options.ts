import { parseArgs } from 'node:util';

/** What one `npm run bench` does; every scale knob is an option so --quick is just other defaults. */
export interface BenchOptions {
  quick: boolean;
  /** Posts written on A in the throughput and fan-out scenarios. */
  posts: number;
  /** Remotes in the fan-out scenario. */
  remotes: number;
  /** Seconds of each steady-rate lag run. */
  durationS: number;
  /** Posts per second of the steady-rate lag runs. */
  rate: number;
  /** Concurrent HTTP clients writing "as fast as they can be written". */
  writers: number;
  /** Posts of the channel whose consistency check is measured. */
  consistencyPosts: number;
  /** Catch-up backlog written on A while B is down. */
  catchup: { posts: number; reactions: number; edits: number };
  /** Posts moved by the raw pipeline baseline (more than `posts`, so its rate is measured over a useful time). */
  baselinePosts: number;
  /** Seconds of the steady-rate run through the raw pipeline. */
  baselineLagS: number;
  /** Seconds of the steady-rate lag phase of the fan-out scenario. */
  fanoutLagS: number;
  /** The WebSocket scenario: idle sockets, channel members with sockets, posts/s into their channel, seconds per run. */
  websocket: { idle: number; active: number; rate: number; durationS: number };
  /** Many channels: shared-channel counts of the curve, remotes, total posts/s, seconds per point; then the idle cost. */
  scale: { points: number[]; remotes: number; rate: number; durationS: number; idleRemotes: number; idleS: number };
  /** Catch-up at scale: backlog posts spread over channels, waiting for a remote that comes back. */
  catchupScale: { posts: number; channels: number };
  /** Which scenarios to run (all by default). */
  only: Set<ScenarioName>;
  /** Run the throughput and catch-up instances with --cpu-prof and summarise their measured windows. */
  profile: boolean;
  /** Keep the bench databases after the run (for inspection). */
  keep: boolean;
  /** NODE_OPTIONS for every server (experiments, e.g. "--max-old-space-size=160"). */
  serverNodeOptions: string | undefined;
  /** Extra environment for every server (experiments with settings, e.g. SYNC_BATCH_POSTS=500). */
  serverEnv: Record<string, string>;
}

export const SCENARIOS = ['baseline', 'throughput', 'lag', 'fanout', 'catchup', 'websocket', 'consistency', 'scale', 'catchup_scale'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

const HELP = `npm run bench -- [options]

  --quick            whole run in under 3 minutes (1,000 posts, 5 s lag runs, 2 remotes, small catch-up, 1 and 30 channels, 2,000-post catch-up over 10)
  --posts N          posts in the throughput and fan-out scenarios (default 10000; quick 1000)
  --remotes N        remotes in the fan-out scenario (default 3; quick 2)
  --duration S       seconds of each steady-rate lag run (default 60; quick 5)
  --rate R           posts per second of the lag runs (default 50)
  --writers N        concurrent HTTP clients writing posts (default 16)
  --ws-idle N        idle WebSocket connections in the websocket scenario (default 1000; quick 200)
  --ws-active N      channel members with a socket in the websocket scenario (default 100; quick 20)
  --ws-rate R        posts per second into their channel (default 20)
  --ws-duration S    seconds of each websocket run (default 30; quick 4)
  --consistency-posts N  posts of the channel whose consistency check is measured (default 100000; quick 20000)
  --scale-points a,b,c   shared channels of the many-channels curve (default 1,10,100,1000; quick 1,30)
  --scale-rate R     total posts/s spread Zipf-like over them (default 20)
  --scale-duration S seconds per point (default 30; quick 4)
  --idle-remotes N   remotes (real server processes) of the idle measurement (default 10; quick 3)
  --idle-duration S  seconds of the idle measurement (default 60; quick 5)
  --catchup-scale-posts N     backlog of the catch-up at scale (default 100000; quick 2000)
  --catchup-scale-channels N  channels it is spread over (default 500; quick 10)
  --only a,b         run only these scenarios: ${SCENARIOS.join(', ')}
  --profile          run the throughput and catch-up instances under node --cpu-prof; summarise the measured windows
  --keep             keep the bench databases (default: dropped at exit)
  --server-node-options=...    NODE_OPTIONS for every server process (e.g. --server-node-options=--max-old-space-size=160)
  --server-env K=V[,K=V]       extra settings for every server (e.g. --server-env SYNC_BATCH_POSTS=500); reported with the results
  --help`;

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got "${raw}"`);
  return Math.floor(n);
}

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      posts: { type: 'string' },
      remotes: { type: 'string' },
      duration: { type: 'string' },
      rate: { type: 'string' },
      writers: { type: 'string' },
      'consistency-posts': { type: 'string' },
      only: { type: 'string' },
      scenarios: { type: 'string' },
      'scale-points': { type: 'string' },
      'scale-rate': { type: 'string' },
      'scale-duration': { type: 'string' },
      'idle-remotes': { type: 'string' },
      'idle-duration': { type: 'string' },
      'catchup-scale-posts': { type: 'string' },
      'catchup-scale-channels': { type: 'string' },
      'ws-idle': { type: 'string' },
      'ws-active': { type: 'string' },
      'ws-rate': { type: 'string' },
      'ws-duration': { type: 'string' },
      profile: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'server-node-options': { type: 'string' },
      'server-env': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const quick = values.quick!;
  const posts = positiveInt('posts', values.posts, quick ? 1_000 : 10_000);
  const remotes = positiveInt('remotes', values.remotes, quick ? 2 : 3);
  if (remotes > 8) throw new Error('--remotes is at most 8 (each remote is a server process)');
  const only = new Set<ScenarioName>();
  for (const s of (values.only ?? values.scenarios ?? SCENARIOS.join(',')).split(',').map((x) => x.trim()).filter(Boolean)) {
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`--only: unknown scenario "${s}" (have ${SCENARIOS.join(', ')})`);
    only.add(s as ScenarioName);
  }
  return {
    quick,
    posts,
    remotes,
    durationS: positiveInt('duration', values.duration, quick ? 5 : 60),
    rate: positiveInt('rate', values.rate, 50),
    writers: positiveInt('writers', values.writers, 16),
    consistencyPosts: positiveInt('consistency-posts', values['consistency-posts'], quick ? 20_000 : 100_000),
    catchup: quick ? { posts: 1_000, reactions: 400, edits: 100 } : { posts: 5_000, reactions: 2_000, edits: 500 },
    baselinePosts: quick ? 20_000 : 50_000,
    baselineLagS: quick ? 3 : 10,
    fanoutLagS: quick ? 3 : 20,
    websocket: {
      idle: positiveInt('ws-idle', values['ws-idle'], quick ? 200 : 1_000),
      active: positiveInt('ws-active', values['ws-active'], quick ? 20 : 100),
      rate: positiveInt('ws-rate', values['ws-rate'], 20),
      durationS: positiveInt('ws-duration', values['ws-duration'], quick ? 4 : 30),
    },
    scale: {
      points: (values['scale-points'] ?? (quick ? '1,30' : '1,10,100,1000')).split(',').map((x) => positiveInt('scale-points', x.trim(), 1)),
      remotes: 3,
      rate: positiveInt('scale-rate', values['scale-rate'], 20),
      durationS: positiveInt('scale-duration', values['scale-duration'], quick ? 4 : 30),
      idleRemotes: positiveInt('idle-remotes', values['idle-remotes'], quick ? 3 : 10),
      idleS: positiveInt('idle-duration', values['idle-duration'], quick ? 5 : 60),
    },
    catchupScale: {
      posts: positiveInt('catchup-scale-posts', values['catchup-scale-posts'], quick ? 2_000 : 100_000),
      channels: positiveInt('catchup-scale-channels', values['catchup-scale-channels'], quick ? 10 : 500),
    },
    only,
    profile: values.profile!,
    keep: values.keep!,
    serverNodeOptions: values['server-node-options'],
    serverEnv: parseServerEnv(values['server-env']),
  };
}

function parseServerEnv(raw: string | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of (raw ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (!m) throw new Error(`--server-env: expected KEY=VALUE, got "${pair}"`);
    env[m[1]] = m[2];
  }
  return env;
}
