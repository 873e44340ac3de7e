import { Redis } from 'ioredis';
import { adminQuery, REDIS_URL } from './infra.js';

/**
 * Server-wide counters of the shared Redis and PostgreSQL, for "per post" and "per second" figures. Redis's are the
 * whole server's (every client, this harness's INFO calls included: two per window), so they are exact only on a
 * machine where nothing else uses that Redis; PostgreSQL's are per database.
 */
export interface RedisStats {
  at: number;
  commands: number;
  cpuMs: number;
}

let client: Redis | undefined;

export async function redisStats(): Promise<RedisStats> {
  client ??= new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  const info = await client.info();
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return { at: Date.now(), commands: field('total_commands_processed'), cpuMs: (field('used_cpu_sys') + field('used_cpu_user')) * 1000 };
}

export async function closeRedisStats(): Promise<void> {
  await client?.quit().catch(() => undefined);
  client = undefined;
}

/** Transactions (commits + rollbacks) of the databases: each autocommit statement the servers send is one. */
export async function pgTransactions(dbNames: string[]): Promise<Record<string, number>> {
  const rows = await adminQuery<{ datname: string; n: string }>(
    'SELECT datname, (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = ANY($1::text[])',
    [dbNames],
  );
  return Object.fromEntries(rows.map((r) => [r.datname, Number(r.n)]));
}

/**
 * Redis commands that touch keys under each of `prefixes` (every key of a bench server starts with its queue prefix)
 * during `ms`, watched with MONITOR (which costs Redis CPU itself: keep it out of CPU windows). Counts commands sent by
 * clients and those run inside Lua scripts (BullMQ's), by command name.
 */
export async function monitorCommands(prefixes: string[], ms: number): Promise<Array<{ total: number; byCommand: Record<string, number> }>> {
  const watcher = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  const out = prefixes.map(() => ({ total: 0, byCommand: {} as Record<string, number> }));
  try {
    const monitor = await watcher.monitor();
    monitor.on('monitor', (_time: string, args: string[]) => {
      const i = prefixes.findIndex((p) => args.some((a) => typeof a === 'string' && a.startsWith(p)));
      if (i < 0) return;
      out[i].total++;
      const name = String(args[0]).toLowerCase();
      out[i].byCommand[name] = (out[i].byCommand[name] ?? 0) + 1;
    });
    await new Promise((r) => setTimeout(r, ms));
    monitor.disconnect();
  } finally {
    watcher.disconnect();
  }
  return out;
}
