import { Redis } from 'ioredis';
import pg from 'pg';

/** Local services, overridable for a machine whose PostgreSQL/Redis live elsewhere. */
export const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function dbUrl(dbName: string): string {
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${dbName}`;
  return u.toString();
}

/**
 * Everything this run creates is named with the run id, which embeds our pid: a later run can tell the
 * leftovers of a crashed run (its pid is gone) from those of a run still going.
 */
export function makeRunId(): string {
  return `p${process.pid}t${Date.now().toString(36)}`;
}
const RUN_RE = /p(\d+)t[a-z0-9]+/;

/** A run id (or a name containing one) whose process is gone. */
export function runIsGone(name: string): boolean {
  const m = RUN_RE.exec(name);
  return !!m && !pidAlive(Number(m[1]));
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let adminQueue: Promise<unknown> = Promise.resolve();
/** A statement on the shared admin connection; callers may overlap, the statements run one after another. */
export function adminQuery<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const run = adminQueue.then(async () => (await (await adminClient()).query<T>(sql, params)).rows);
  adminQueue = run.catch(() => undefined);
  return run;
}

export async function createDatabase(name: string): Promise<void> {
  await adminQuery(`CREATE DATABASE "${name}"`);
}

export async function dropDatabase(name: string): Promise<void> {
  await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}

export async function deleteRedisKeys(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** Drops databases and Redis keys left by bench runs whose process is gone (a SIGKILLed run cannot clean up). */
export async function removeLeftovers(): Promise<string[]> {
  const removed: string[] = [];
  const dbs = await adminQuery<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_%'`);
  for (const { datname } of dbs) {
    const m = RUN_RE.exec(datname);
    if (m && !pidAlive(Number(m[1]))) {
      await dropDatabase(datname);
      removed.push(datname);
    }
  }
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  try {
    const prefixes = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'bench_p*', 'COUNT', 1000);
      cursor = next;
      for (const k of keys) {
        const m = RUN_RE.exec(k);
        if (m && !pidAlive(Number(m[1]))) prefixes.add(`bench_${m[0]}`);
      }
    } while (cursor !== '0');
    for (const p of prefixes) {
      await deleteRedisKeys(p);
      removed.push(`redis ${p}*`);
    }
  } finally {
    redis.disconnect();
  }
  return removed;
}

/** Fails early with a clear message when PostgreSQL or Redis is not there. */
export async function checkServices(): Promise<void> {
  try {
    await adminQuery('SELECT 1');
  } catch (err) {
    throw new Error(`PostgreSQL is not reachable at ${PG_ADMIN_URL}: ${(err as Error).message}`, { cause: err });
  }
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`Redis is not reachable at ${REDIS_URL}: ${(err as Error).message}`, { cause: err });
  } finally {
    redis.disconnect();
  }
}

const tooManyClients = (err: unknown) => (err as { code?: string }).code === '53300' || /too many clients/.test(String(err));

/**
 * One long-lived connection for the harness's own reads of an instance's database (pollers, comparisons).
 * PostgreSQL's max_connections is shared with everything else on the machine (each server's pool holds up to
 * 20): when it is exhausted, wait for a slot rather than fail the scenario.
 */
export async function connectDb(url: string, waitMs = 60_000): Promise<pg.Client> {
  const deadline = Date.now() + waitMs;
  for (let attempt = 0; ; attempt++) {
    const client = new pg.Client({ connectionString: url });
    // A dropped database (cleanup after a failure) ends the connection with an error event: not a crash.
    client.on('error', () => undefined);
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (!tooManyClients(err) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** attempt)));
    }
  }
}

let sharedAdmin: Promise<pg.Client> | undefined;
/** The harness's one connection to the maintenance database, opened once (so it exists before the load starts). */
export function adminClient(): Promise<pg.Client> {
  sharedAdmin ??= connectDb(PG_ADMIN_URL).then((c) => {
    c.on('end', () => {
      sharedAdmin = undefined;
    });
    return c;
  });
  return sharedAdmin;
}

export async function closeAdminClient(): Promise<void> {
  const c = sharedAdmin;
  sharedAdmin = undefined;
  if (c) await (await c).end().catch(() => undefined);
}
