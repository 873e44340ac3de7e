// npm run cluster -- [--replicas N] [--peer [--no-connect]] [--roll]
//
// N replicas (default 3) of the built server on internal ports behind nginx on PORT (default 8065; 8066 with --peer),
// against this machine's PostgreSQL and Redis (DATABASE_URL, REDIS_URL, QUEUE_PREFIX are honoured). Writes
// .cluster/cluster.json (.cluster/peer.json with --peer): {supervisor, nginx: {pid, port}, replicas: [{pid, port}]}.
// With --peer and cluster A running, the two are connected (invite handshake through both balancers) and a channel
// of A is shared with B (--no-connect leaves them apart). Ctrl-C or SIGTERM stops everything. A rolling restart of the running cluster: `npm run cluster -- --roll [--peer]`
// (it signals the running supervisor), `kill -USR2 <supervisor pid>`, or type `roll` and Enter in its terminal.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { connectClusters } from './cluster-connect.js';
import { Cluster } from './cluster-supervisor.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const value = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

const PEER = flag('--peer');
const REPLICAS = Number(value('--replicas') ?? 3);
const STATE_DIR = resolve('.cluster');
const INFO_FILE = join(STATE_DIR, PEER ? 'peer.json' : 'cluster.json');

if (!Number.isInteger(REPLICAS) || REPLICAS < 1 || REPLICAS > 32) {
  console.error('--replicas must be an integer from 1 to 32');
  process.exit(2);
}

if (flag('--roll')) {
  // Ask the running supervisor to roll its replicas.
  if (!existsSync(INFO_FILE)) {
    console.error(`no running cluster: ${INFO_FILE} is missing`);
    process.exit(1);
  }
  const { supervisor } = JSON.parse(readFileSync(INFO_FILE, 'utf8')) as { supervisor: { pid: number } };
  process.kill(supervisor.pid, 'SIGUSR2');
  console.log(`asked the cluster supervisor (pid ${supervisor.pid}) for a rolling restart; watch its terminal`);
  process.exit(0);
}

/** The peer gets its own database, queue prefix and files: two federated servers share none of them. */
function env(): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) base[k] = v;
  const dbUrl = new URL(base.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/mmfed');
  if (PEER) {
    dbUrl.pathname = `${dbUrl.pathname}_peer`;
    base.DATABASE_URL = base.PEER_DATABASE_URL ?? dbUrl.toString();
    base.QUEUE_PREFIX = base.PEER_QUEUE_PREFIX ?? `${base.QUEUE_PREFIX ?? 'mmfed'}_peer`;
    base.FILES_DIR = base.PEER_FILES_DIR ?? './data/files-peer';
    delete base.SITE_URL;
  } else {
    base.DATABASE_URL = dbUrl.toString();
  }
  base.LOG_LEVEL ??= 'warn';
  // The two clusters of this command federate over loopback, which the outbound policy denies by default.
  base.REMOTE_ALLOWED_NETWORKS ??= '127.0.0.0/8,::1/128';
  if (!base.ADMIN_USERNAME) {
    base.ADMIN_USERNAME = 'admin';
    base.ADMIN_PASSWORD = 'cluster-admin-pass';
    base.ADMIN_EMAIL = 'admin@example.com';
  }
  return base;
}

async function main(): Promise<void> {
  if (!existsSync('dist/src/main.js')) {
    console.log('dist/ is missing: npm run build');
    execFileSync('npm', ['run', 'build'], { stdio: 'inherit' });
  }
  const replicaEnv = env();
  const port = Number(PEER ? (process.env.PEER_PORT ?? 8066) : (process.env.PORT ?? 8065));
  mkdirSync(STATE_DIR, { recursive: true });
  const name = PEER ? 'B' : 'A';
  const log = (msg: string) => console.log(`[cluster ${name}] ${msg}`);
  log(`starting ${REPLICAS} replicas and nginx on 127.0.0.1:${port} (database ${new URL(replicaEnv.DATABASE_URL).pathname.slice(1)}, queue prefix ${replicaEnv.QUEUE_PREFIX ?? 'mmfed'})`);
  const cluster = await Cluster.start({
    name,
    replicas: REPLICAS,
    port,
    // A on 8101, 8102..., the peer on 8201...: deploy/prometheus/prometheus.yml names them.
    replicaBasePort: PEER ? 8201 : 8101,
    env: replicaEnv,
    dir: join(STATE_DIR, PEER ? 'nginx-peer' : 'nginx'),
    output: 'terminal',
    log,
  });
  // The supervisor's pid is what `--roll` signals.
  const save = () => cluster.writeInfo(INFO_FILE, { supervisor: { pid: process.pid } });
  save();

  console.log('');
  console.log(`  load balancer  ${cluster.url}   (admin: ${replicaEnv.ADMIN_USERNAME})`);
  for (const r of cluster.info().replicas) console.log(`  replica ${r.name}     http://127.0.0.1:${r.port}   pid ${r.pid}`);
  console.log(`  processes      ${INFO_FILE}`);
  console.log(`  rolling restart: npm run cluster -- --roll${PEER ? ' --peer' : ''}   (or type "roll" here)`);
  if (!PEER) console.log('  a peer to federate with: npm run cluster -- --peer   (in another terminal)');
  console.log('');

  const mainInfo = join(STATE_DIR, 'cluster.json');
  if (PEER && !flag('--no-connect') && existsSync(mainInfo)) {
    const a = JSON.parse(readFileSync(mainInfo, 'utf8')) as { nginx: { port: number } };
    await connectClusters({ url: `http://127.0.0.1:${a.nginx.port}` }, { url: cluster.url }, { username: replicaEnv.ADMIN_USERNAME, password: replicaEnv.ADMIN_PASSWORD }, log).catch(
      (err: unknown) => log(`could not connect to cluster A: ${String(err)}`),
    );
  }

  let rolling: Promise<void> | undefined;
  const roll = () => {
    if (rolling) return log('a rolling restart is already running');
    rolling = cluster
      .roll(() => save())
      .catch((err: unknown) => log(`rolling restart failed: ${String(err)}`))
      .finally(() => {
        rolling = undefined;
        save();
      });
  };
  process.on('SIGUSR2', roll);
  if (process.stdin.isTTY) {
    createInterface({ input: process.stdin }).on('line', (line) => {
      if (line.trim() === 'roll') roll();
    });
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping nginx and the replicas`);
    void cluster.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
