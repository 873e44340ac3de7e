// N replicas of the built server (dist/src/main.js) on internal ports behind nginx: start, kill, restart, roll, stop.
// `npm run cluster` (scripts/cluster.ts) drives it for people; test/infra drives it for the failover tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { spawnNginx, writeNginxConfig } from './cluster-nginx.js';
import { startNodeFlags } from './start-flags.js';

export interface ClusterOptions {
  /** A letter or word for logs and the replicas' names (A -> A1, A2...). */
  name: string;
  replicas: number;
  /** nginx's port on 127.0.0.1 (0: any free one). */
  port: number;
  /** Replica i listens on this + i when that port is free (so a scrape config can name them); any free port otherwise. */
  replicaBasePort?: number;
  /** The replicas' environment (DATABASE_URL, REDIS_URL, QUEUE_PREFIX...); PORT, SITE_URL and TRUST_PROXY are set here. */
  env: Record<string, string>;
  /** nginx's prefix (configuration, pid, logs, temp files). */
  dir: string;
  /** Where a replica's output goes: the terminal with its name in front, or kept in memory (tests). */
  output: 'terminal' | 'memory';
  log?: (msg: string) => void;
}

export interface ClusterInfo {
  nginx: { pid: number; port: number };
  replicas: Array<{ name: string; pid: number; port: number }>;
}

interface Replica {
  name: string;
  port: number;
  child?: ChildProcess;
  out: string;
}

/** `preferred` when nothing listens on it on 127.0.0.1, otherwise (or without one) a free port the system picks. */
export function freePort(preferred = 0): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.on('error', (err) => (preferred ? freePort().then(resolvePort, reject) : reject(err)));
    srv.listen(preferred, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

/** Polls `fn` until it answers true (every `intervalMs`, for at most `timeoutMs`). */
async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 60_000, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Creates the database of `url` when it does not exist yet (the server applies migrations, it creates no database);
 * true when it created it.
 */
export async function ensureDatabase(url: string): Promise<boolean> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    return true;
  } finally {
    await client.end();
  }
}

export class Cluster {
  private nginx?: ChildProcess;
  private readonly replicas: Replica[] = [];
  private nginxPort = 0;
  private readonly log: (msg: string) => void;

  private constructor(private readonly opts: ClusterOptions) {
    this.log = opts.log ?? (() => undefined);
  }

  /** Starts the replicas (the first alone, so migrations run once) and nginx in front of them. */
  static async start(opts: ClusterOptions): Promise<Cluster> {
    const cluster = new Cluster(opts);
    try {
      await cluster.boot();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  private async boot(): Promise<void> {
    mkdirSync(this.opts.dir, { recursive: true });
    this.nginxPort = this.opts.port || (await freePort());
    for (let i = 0; i < this.opts.replicas; i++) {
      const port = await freePort(this.opts.replicaBasePort ? this.opts.replicaBasePort + i : 0);
      this.replicas.push({ name: `${this.opts.name}${i + 1}`, port, out: '' });
    }
    if (this.opts.env.DATABASE_URL) await ensureDatabase(this.opts.env.DATABASE_URL);
    // The first replica applies the migrations; the others start once it is up, with nothing left to apply.
    await this.startReplica(0, { migrations: true });
    await Promise.all(this.replicas.slice(1).map((_, i) => this.startReplica(i + 1, { migrations: false })));
    writeNginxConfig({ prefix: this.opts.dir, port: this.nginxPort, replicaPorts: this.replicas.map((r) => r.port) });
    mkdirSync(this.opts.dir, { recursive: true });
    this.nginx = spawnNginx(this.opts.dir);
    const nginx = this.nginx;
    nginx.on('exit', (code, signal) => {
      if (this.nginx === nginx) this.log(`nginx exited (${code ?? signal})`);
    });
    await until('nginx', async () => (await fetch(`${this.url}/api/v4/system/ping`)).status === 200, 15_000);
  }

  /** The load balancer's URL: what clients and peers use. */
  get url(): string {
    return `http://127.0.0.1:${this.nginxPort}`;
  }

  get size(): number {
    return this.replicas.length;
  }

  replicaUrl(i: number): string {
    return `http://127.0.0.1:${this.replicas[i].port}`;
  }

  replicaOutput(i: number): string {
    return this.replicas[i].out;
  }

  info(): ClusterInfo {
    return {
      nginx: { pid: this.nginx?.pid ?? 0, port: this.nginxPort },
      replicas: this.replicas.map((r) => ({ name: r.name, pid: r.child?.pid ?? 0, port: r.port })),
    };
  }

  /** Writes info() (and `extra`) to `file` (.cluster/cluster.json) so scripts can find each process. */
  writeInfo(file: string, extra: Record<string, unknown> = {}): void {
    writeFileSync(file, `${JSON.stringify({ ...extra, ...this.info() }, null, 2)}\n`);
  }

  /** Starts replica `i` on its port and waits until /health/ready answers 200. */
  async startReplica(i: number, { migrations = false } = {}): Promise<void> {
    const r = this.replicas[i];
    if (r.child) return;
    const child = spawn(process.execPath, [...startNodeFlags(), resolve('dist/src/main.js')], {
      env: {
        ...this.opts.env,
        PORT: String(r.port),
        // Peers and clients reach the server through the balancer, whichever replica builds a URL.
        SITE_URL: this.opts.env.SITE_URL ?? this.url,
        // X-Forwarded-For from nginx on loopback is believed: rate limits and logs see the client's address.
        TRUST_PROXY: this.opts.env.TRUST_PROXY ?? 'loopback',
        MIGRATIONS_RUN: migrations ? (this.opts.env.MIGRATIONS_RUN ?? 'true') : 'false',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    r.child = child;
    r.out = '';
    const sink = (d: Buffer) => {
      const text = d.toString();
      if (this.opts.output === 'memory') {
        r.out = (r.out + text).slice(-200_000);
        appendFileSync(join(this.opts.dir, `${r.name}.log`), text);
      }
      else for (const line of text.split('\n')) if (line) process.stdout.write(`[${r.name}] ${line}\n`);
    };
    child.stdout!.on('data', sink);
    child.stderr!.on('data', sink);
    child.on('exit', (code, signal) => {
      if (r.child === child) {
        r.child = undefined;
        this.log(`${r.name} (pid ${child.pid}) exited (${code ?? signal})`);
      }
    });
    await until(
      `${r.name} to be ready`,
      async () => {
        if (r.child !== child) throw new Error(`${r.name} exited while starting:\n${r.out.slice(-2000)}`);
        return (await fetch(`${this.replicaUrl(i)}/health/ready`)).status === 200;
      },
      120_000,
    ).catch((err: unknown) => {
      if (r.child !== child) throw new Error(`${r.name} exited while starting:\n${r.out.slice(-3000)}`);
      throw err;
    });
    this.log(`${r.name} ready on ${this.replicaUrl(i)} (pid ${child.pid})`);
  }

  /** SIGTERM: the replica drains (not ready, grace, in-flight work) and exits; resolves with its exit code. */
  async stopReplica(i: number): Promise<number | null> {
    const child = this.replicas[i].child;
    if (!child) return null;
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    child.kill('SIGTERM');
    const [code] = await exited;
    return code;
  }

  /** SIGKILL, as a crash or the kernel's OOM killer: nothing is drained. */
  async killReplica(i: number): Promise<void> {
    const child = this.replicas[i].child;
    if (!child) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** A rolling restart: each replica in turn is drained, stopped, started again and waited for until ready. */
  async roll(onStep?: (i: number, phase: 'stopped' | 'ready') => void): Promise<void> {
    for (let i = 0; i < this.replicas.length; i++) {
      this.log(`rolling: draining ${this.replicas[i].name}`);
      const code = await this.stopReplica(i);
      if (code !== 0) this.log(`${this.replicas[i].name} exited with ${code} during the roll`);
      onStep?.(i, 'stopped');
      await this.startReplica(i);
      onStep?.(i, 'ready');
    }
    this.log('rolling restart done');
  }

  /** Stops nginx and every replica (SIGTERM, then SIGKILL after `graceMs`). */
  async stop(graceMs = 20_000): Promise<void> {
    const stopping = [
      ...this.replicas.map((r) => r.child),
      this.nginx,
    ].filter((c): c is ChildProcess => !!c && c.exitCode === null && c.signalCode === null);
    this.nginx = undefined;
    await Promise.all(
      stopping.map(async (c) => {
        const exited = once(c, 'exit');
        c.kill('SIGTERM');
        const t = setTimeout(() => c.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(t);
      }),
    );
  }
}
