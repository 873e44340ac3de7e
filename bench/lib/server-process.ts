import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, serverEntryPath } from './build.js';
import { onCleanup, onExitKill, throwIfAborted } from './cleanup.js';
import { HttpClient } from './http-client.js';
import { createDatabase, dbUrl, deleteRedisKeys, dropDatabase, REDIS_URL } from './infra.js';
import { RssMeter } from './rss.js';
import { startNodeFlags } from '../../scripts/start-flags.js';

export const BENCH_ADMIN = { username: 'benchadmin', password: 'Bench-admin-pass-1', email: 'benchadmin@example.com' };
export const LOG_DIR = join(ROOT, 'bench/results/logs');
export const PROFILE_DIR = join(ROOT, 'bench/results/profiles');

/**
 * Settings every bench instance shares. The heartbeat is shortened (1 s ping, offline after 3 s) so a
 * restarted peer is noticed within a second, as the catch-up scenario needs; bcrypt cost 4 only speeds up
 * the harness's own user set-up (no password is hashed on the sync path).
 */
export const BENCH_SERVER_ENV: Record<string, string> = {
  LOG_LEVEL: 'warn',
  PASSWORD_HASH_COST: '4',
  PING_INTERVAL_MS: '1000',
  REMOTE_OFFLINE_AFTER_MS: '3000',
  // Every server of a run is on this machine: the outbound policy denies loopback unless told otherwise.
  REMOTE_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128',
  // No balancer watches these servers' readiness: a stop need not wait for one to notice (5 s by default).
  SHUTDOWN_DRAIN_MS: '0',
};

/** Ports this run has handed out: a port released by one probe can be handed to the next by the kernel. */
const handedOut = new Set<number>();

function probePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A free port no other server of this run was given: servers launched in parallel each probe one, and without the
 * record two could get the same port (the second then fails with EADDRINUSE while the first answers its health
 * checks).
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await probePort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('no free port found that this run has not handed out already');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One server instance as a child process (`node dist/src/main.js`) with its own database (created empty; the
 * server migrates it at start), queue prefix, files directory and log file. It can be killed and started again
 * on the same port and database, and its peak RSS is tracked across restarts.
 */
export class ServerProcess {
  readonly url: string;
  readonly dbName: string;
  readonly dbUrl: string;
  readonly queuePrefix: string;
  readonly logPath: string;
  readonly api: HttpClient;
  readonly rss = new RssMeter();
  child: ChildProcess | undefined;
  /** Wall-clock times (epoch ms) of the last spawn and of the moment the last start answered its health route. */
  spawnedAt = 0;
  readyAt = 0;
  private filesDir: string;
  private exited: Promise<void> | undefined;
  private unregisterKill: (() => void) | undefined;
  /** How many times this instance was started (its --cpu-prof files are numbered by it). */
  starts = 0;

  private constructor(
    readonly name: string,
    readonly label: string,
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly runId: string,
    private readonly cpuProfile: boolean,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.dbName = `bench_${label}_${runId}`.toLowerCase();
    this.dbUrl = dbUrl(this.dbName);
    this.queuePrefix = `bench_${runId}_${label}`;
    this.logPath = join(LOG_DIR, `${runId}-${label}.log`);
    this.filesDir = mkdtempSync(join(tmpdir(), `bench-${label}-`));
    this.api = new HttpClient(this.url, 64);
  }

  /** Creates the database and starts the server; registers everything for cleanup. */
  static async launch(opts: { name: string; scenario: string; runId: string; env?: Record<string, string>; cpuProfile?: boolean; keep?: boolean }): Promise<ServerProcess> {
    throwIfAborted(`server ${opts.scenario}_${opts.name}`);
    mkdirSync(LOG_DIR, { recursive: true });
    const port = await freePort();
    const label = `${opts.scenario}_${opts.name}`.toLowerCase();
    const s = new ServerProcess(opts.name, label, port, opts.env ?? {}, opts.runId, opts.cpuProfile ?? false);
    await createDatabase(s.dbName);
    onCleanup(`destroy ${label}`, () => s.destroy(opts.keep ?? false));
    await s.start();
    return s;
  }

  /** Key of the current process's profile file, and a window (epoch ms) made relative to its spawn. */
  profileWindow(from: number, to: number): [string, { fromMs: number; toMs: number }] {
    return [`${this.label}-${this.starts}`, { fromMs: Math.round(from - this.spawnedAt), toMs: Math.round(to - this.spawnedAt) }];
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(timeoutMs = 90_000): Promise<void> {
    if (this.running) return;
    throwIfAborted(`server ${this.label}`);
    this.starts++;
    const log = openSync(this.logPath, 'a');
    // The flags npm start uses (the V8 heap cap), so the RSS measured here is what an operator gets.
    const args = [...startNodeFlags()];
    if (this.cpuProfile) {
      mkdirSync(PROFILE_DIR, { recursive: true });
      args.push('--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${this.runId}-${this.label}-${this.starts}.cpuprofile`);
    }
    args.push(serverEntryPath());
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      NODE_ENV: 'production',
      PORT: String(this.port),
      SITE_URL: this.url,
      DATABASE_URL: this.dbUrl,
      REDIS_URL,
      QUEUE_PREFIX: this.queuePrefix,
      FILES_DIR: this.filesDir,
      ADMIN_USERNAME: BENCH_ADMIN.username,
      ADMIN_PASSWORD: BENCH_ADMIN.password,
      ADMIN_EMAIL: BENCH_ADMIN.email,
      ...BENCH_SERVER_ENV,
      ...this.env,
    };
    this.spawnedAt = Date.now();
    this.readyAt = 0;
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', log, log] });
    closeSync(log);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    this.unregisterKill = onExitKill(() => child.kill('SIGKILL'));
    this.rss.attach(child.pid!);

    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) {
        throw new Error(`${this.label} exited during start (code ${child.exitCode}, signal ${child.signalCode}); last log lines:\n${this.logTail()}`);
      }
      try {
        const res = await this.api.request('GET', '/api/v4/system/ping', { timeoutMs: 2_000 });
        if (res.status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${this.label} did not answer /api/v4/system/ping within ${timeoutMs / 1000} s; last log lines:\n${this.logTail()}`);
      await sleep(50);
    }
    this.readyAt = Date.now();
  }

  /** SIGKILL: the outage of the catch-up scenario (no graceful goodbye to the peer). */
  async kill(): Promise<void> {
    if (!this.child) return;
    this.child.kill('SIGKILL');
    await this.exited;
    this.afterExit();
  }

  /** SIGTERM and wait (the server closes its pools and exits 0); SIGKILL after the deadline. */
  async stop(deadlineMs = 15_000): Promise<void> {
    if (!this.child) return;
    if (this.running) {
      this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child?.kill('SIGKILL'), deadlineMs);
      await this.exited;
      clearTimeout(t);
    }
    this.afterExit();
  }

  private afterExit(): void {
    this.rss.detach();
    this.unregisterKill?.();
    this.unregisterKill = undefined;
    this.child = undefined;
  }

  async destroy(keep: boolean): Promise<void> {
    // Normally stopped already; after an error or Ctrl-C, do not wait long for a graceful exit.
    await this.stop(5_000);
    this.api.close();
    if (!keep) await dropDatabase(this.dbName);
    await deleteRedisKeys(`${this.queuePrefix}:`);
    rmSync(this.filesDir, { recursive: true, force: true });
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') || '(log is empty)';
    } catch {
      return '(no log)';
    }
  }

  /** Warnings and errors the server logged (the bench runs them at LOG_LEVEL=warn). */
  logLines(): string[] {
    try {
      return readFileSync(this.logPath, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  }
}
