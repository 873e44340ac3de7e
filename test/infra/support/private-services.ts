// A PostgreSQL cluster and a Redis server of this test run's own, on free loopback ports, so the infrastructure tests
// can stop and restart them without disturbing any other test (the shared 5432/6379 are never touched).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort } from '../../../scripts/cluster-supervisor.js';

function pgBin(tool: string): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(root, v, 'bin', tool))) return join(root, v, 'bin', tool);
  return tool;
}

/** Runs a PostgreSQL tool as the postgres user when we are root (initdb and postgres refuse to run as root). */
function asPostgres(tool: string, args: string[]): string {
  const bin = pgBin(tool);
  const argv = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] as const : [bin, args] as const;
  return execFileSync(argv[0], [...argv[1]], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

async function canConnect(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

export interface PrivatePostgres {
  port: number;
  url(db: string): string;
  stop(): void;
  start(): Promise<void>;
  destroy(): void;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'mmfed-infra-pg-'));
  if (process.getuid?.() === 0) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()), Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()));
  const data = join(dir, 'data');
  asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  const pgp: PrivatePostgres = {
    port,
    url: (db) => `postgres://postgres@127.0.0.1:${port}/${db}`,
    stop: () => {
      asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    },
    start: async () => {
      asPostgres('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start']);
      const deadline = Date.now() + 30_000;
      while (!(await canConnect(pgp.url('postgres')))) {
        if (Date.now() > deadline) throw new Error('private PostgreSQL did not come up');
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    destroy: () => {
      try {
        pgp.stop();
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await pgp.start();
  return pgp;
}

export interface PrivateRedis {
  port: number;
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** No persistence, as a cache-like Redis: a restart loses every key (queued jobs too) and the server must cope. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'mmfed-infra-redis-'));
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const r: PrivateRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    start: async () => {
      proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
      const deadline = Date.now() + 15_000;
      for (;;) {
        const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        c.on('error', () => undefined);
        const ok = await c.connect().then(() => c.ping()).then(() => true, () => false);
        c.disconnect();
        if (ok) return;
        if (Date.now() > deadline) throw new Error('private Redis did not come up');
        await new Promise((res) => setTimeout(res, 100));
      }
    },
    stop: async () => {
      const p = proc;
      proc = undefined;
      if (!p || p.exitCode !== null) return;
      const exited = once(p, 'exit');
      p.kill('SIGTERM');
      await exited;
    },
    destroy: async () => {
      await r.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await r.start();
  return r;
}
