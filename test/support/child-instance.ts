import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { cloneDatabase, dropDatabase, queryDb } from './databases.js';
import { eventually } from './eventually.js';
import { freePort, LOOPBACK_NETWORKS, TEST_ADMIN, type Instance } from './instance.js';
import { dbUrl, TEST_REDIS_URL } from './test-env.js';
import { ensureBuilt } from './build.js';

export interface ChildInstance extends Instance {
  /** SIGKILL: no shutdown hooks, no graceful close, as a crash. */
  kill(): Promise<void>;
  output(): string;
  /** Its FILES_DIR. */
  readonly filesDir: string;
  /** The process is still running (it has not crashed or been killed). */
  running(): boolean;
}

/** Node's flags for the child: `npm start`'s heap cap, so a test sees the memory limit production has. */
const START_NODE_ARGS = ['--max-old-space-size=256'];

/**
 * The built server (dist/src/main.js) in its own process, started as `npm start` starts it, for tests that must
 * crash it or must see it survive (a crash or an out-of-memory kill there cannot take the test runner with it).
 */
export async function startChildInstance(
  name: string,
  env: Record<string, string> = {},
  opts: { /** The process's working directory (the repository's by default). */ cwd?: string } = {},
): Promise<ChildInstance> {
  await ensureBuilt();
  const dbName = await cloneDatabase();
  const port = await freePort();
  const queuePrefix = `t_${name.toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const ownFilesDir = !env.FILES_DIR;
  const filesDir = env.FILES_DIR ?? (await mkdtemp(join(tmpdir(), `mmfed-${name}-`)));
  const fullEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    PORT: String(port),
    SITE_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: dbUrl(dbName),
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: queuePrefix,
    FILES_DIR: filesDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    PASSWORD_HASH_COST: '4',
    DATABASE_POOL_SIZE: '10',
    ADMIN_USERNAME: TEST_ADMIN.username,
    ADMIN_PASSWORD: TEST_ADMIN.password,
    ADMIN_EMAIL: TEST_ADMIN.email,
    REMOTE_ALLOWED_NETWORKS: LOOPBACK_NETWORKS,
    // No load balancer waits on these: stop at once on SIGTERM.
    SHUTDOWN_DRAIN_MS: '0',
    ...env,
  };
  let child: ChildProcess | undefined;
  let out = '';
  const url = `http://127.0.0.1:${port}`;
  const inst: ChildInstance = {
    name,
    url,
    config: undefined as never,
    dbName,
    queuePrefix,
    app: undefined,
    async start() {
      if (child) return;
      child = spawn(process.execPath, [...START_NODE_ARGS, resolve('dist/src/main.js')], {
        env: fullEnv,
        cwd: opts.cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      const started = child;
      started.on('exit', () => {
        if (child === started) child = undefined;
      });
      await eventually(async () => {
        if (!child) throw new Error(`${name} exited:\n${out.slice(-2000)}`);
        const res = await fetch(`${url}/api/v4/system/ping`);
        if (res.status !== 200) throw new Error('not up');
      }, { timeoutMs: 30_000, intervalMs: 100 });
    },
    async stop() {
      if (!child) return;
      const c = child;
      c.kill('SIGTERM');
      await once(c, 'exit');
    },
    async kill() {
      if (!child) return;
      const c = child;
      c.kill('SIGKILL');
      await once(c, 'exit');
    },
    async destroy() {
      await inst.kill();
      await dropDatabase(dbName);
      const redis = new Redis(TEST_REDIS_URL);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${queuePrefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
      if (ownFilesDir) await rm(filesDir, { recursive: true, force: true });
    },
    query: (sql, params) => queryDb(dbUrl(dbName), sql, params),
    output: () => out,
    filesDir,
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
  };
  await inst.start();
  return inst;
}
