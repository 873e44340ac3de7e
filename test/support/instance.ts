import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Redis } from 'ioredis';
import { createApp } from '../../src/bootstrap/create-app.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { loadConfig } from '../../src/config/load-config.js';
import { cloneDatabase, dropDatabase, queryDb } from './databases.js';
import { dbUrl, TEST_REDIS_URL } from './test-env.js';

/** REMOTE_ALLOWED_NETWORKS for instances that federate with each other on this machine. */
export const LOOPBACK_NETWORKS = '127.0.0.0/8,::1/128';

export const TEST_ADMIN = { username: 'sysadmin', password: 'Sys-admin-pass-1', email: 'sysadmin@example.com' };

export interface Instance {
  readonly name: string;
  readonly url: string;
  readonly config: AppConfig;
  readonly dbName: string;
  readonly queuePrefix: string;
  app: NestExpressApplication | undefined;
  /** Stops the server (graceful close); the database and Redis keys stay, so start() resumes. */
  stop(): Promise<void>;
  /** Starts it again on the same port, database and queue prefix. */
  start(): Promise<void>;
  /** Stops it and drops its database, files and Redis keys. */
  destroy(): Promise<void>;
  query<T extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

export function freePort(): Promise<number> {
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

async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * A real server on 127.0.0.1 with its own database (cloned from the migrated template), its own
 * BullMQ/Redis key prefix and its own files directory. Several can run in one Jest process.
 */
export async function startInstance(name: string, env: Record<string, string> = {}): Promise<Instance> {
  const dbName = env.DATABASE_URL ? new URL(env.DATABASE_URL).pathname.slice(1) : await cloneDatabase();
  const port = await freePort();
  const queuePrefix = env.QUEUE_PREFIX ?? `t_${name.toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const filesDir = env.FILES_DIR ?? (await mkdtemp(join(tmpdir(), `mmfed-${name}-`)));
  const config = loadConfig({
    PORT: String(port),
    SITE_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: dbUrl(dbName),
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: queuePrefix,
    FILES_DIR: filesDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PASSWORD_HASH_COST: '4',
    // Several instances run per test file and two files at once, all on one PostgreSQL (max_connections 100).
    DATABASE_POOL_SIZE: '10',
    ADMIN_USERNAME: TEST_ADMIN.username,
    ADMIN_PASSWORD: TEST_ADMIN.password,
    ADMIN_EMAIL: TEST_ADMIN.email,
    // Every peer in the tests is another instance on loopback, which the outbound policy denies by default.
    REMOTE_ALLOWED_NETWORKS: LOOPBACK_NETWORKS,
    ...env,
  });

  const inst: Instance = {
    name,
    url: config.http.siteUrl,
    config,
    dbName,
    queuePrefix,
    app: undefined,
    async start() {
      if (inst.app) return;
      const app = await createApp(config);
      await app.listen(config.http.port, '127.0.0.1');
      inst.app = app;
    },
    async stop() {
      const app = inst.app;
      inst.app = undefined;
      if (app) await app.close();
    },
    async destroy() {
      await inst.stop();
      await dropDatabase(dbName);
      await deleteRedisKeys(queuePrefix);
      if (!env.FILES_DIR) await rm(filesDir, { recursive: true, force: true });
    },
    query: (sql, params) => queryDb(dbUrl(dbName), sql, params),
  };
  await inst.start();
  return inst;
}

/** Instances A and B side by side in this process, as the federation tests use them. */
export async function startPair(env: Record<string, string> = {}): Promise<[Instance, Instance]> {
  return Promise.all([startInstance('A', env), startInstance('B', env)]);
}
