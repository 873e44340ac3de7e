// Server A as three replicas behind nginx (deploy/nginx, started by the same code as `npm run cluster`) on a private
// PostgreSQL and Redis, and a peer B (one replica behind its own nginx, on the shared services) with a shared channel.
// Under a steady load of clients posting through A's nginx: a replica killed, a rolling restart, PostgreSQL restarted,
// Redis restarted. After each, every post a client saw accepted is on B exactly once.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Cluster } from '../../scripts/cluster-supervisor.js';
import { ensureBuilt } from '../support/build.js';
import { createChannel } from '../support/chat.js';
import { queryDb } from '../support/databases.js';
import { eventually } from '../support/eventually.js';
import { FAST_FEDERATION_ENV, type Federation, federate, memberOf, shareWith } from '../support/federation.js';
import { http } from '../support/http.js';
import { LOOPBACK_NETWORKS, TEST_ADMIN, type Instance } from '../support/instance.js';
import { TEST_PG_ADMIN_URL, TEST_REDIS_URL } from '../support/test-env.js';
import { postOf, WsSession } from '../support/websocket.js';
import { accessLog, ChatLoad, type Outcome } from './support/load.js';
import { startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from './support/private-services.js';

const CLIENTS = 4;
const REPLICAS = 3;

const figures: Record<string, Record<string, number | string>> = {};

function report(name: string, values: Record<string, number | string>): void {
  figures[name] = values;
  process.stdout.write(`\n[infra figures] ${name}: ${JSON.stringify(values)}\n`);
}

function byStatus(outcomes: Outcome[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(`${o.method} ${o.status}`, (counts.get(`${o.method} ${o.status}`) ?? 0) + 1);
  return [...counts].map(([k, v]) => `${k} x${v}`).join(', ') || 'none';
}

function sharedDbUrl(db: string): string {
  const u = new URL(TEST_PG_ADMIN_URL);
  u.pathname = `/${db}`;
  return u.toString();
}

/** A cluster as the test helpers see an instance: its balancer's URL and its database. */
function asInstance(name: string, cluster: Cluster, dbUrl: string, queuePrefix: string): Instance {
  return {
    name,
    url: cluster.url,
    config: undefined as never,
    dbName: new URL(dbUrl).pathname.slice(1),
    queuePrefix,
    app: undefined,
    stop: async () => undefined,
    start: async () => undefined,
    destroy: async () => undefined,
    query: (sql, params) => queryDb(dbUrl, sql, params),
  };
}

describe('A behind nginx (3 replicas) federating with B, under load', () => {
  let pgA: PrivatePostgres;
  let redisA: PrivateRedis;
  let clusterA: Cluster;
  let clusterB: Cluster;
  let fed: Federation;
  let channel: string;
  let clients: Array<{ token: string }>;
  const work = mkdtempSync(join(tmpdir(), 'mmfed-infra-'));
  const suffix = randomBytes(4).toString('hex');
  const dbB = `mmfed_infra_b_${suffix}`;
  const prefixB = `infra_b_${suffix}`;
  let dbUrlA: string;

  const serverEnv = {
    ...FAST_FEDERATION_ENV,
    LOG_LEVEL: 'warn',
    PASSWORD_HASH_COST: '4',
    DATABASE_POOL_SIZE: '10',
    ADMIN_USERNAME: TEST_ADMIN.username,
    ADMIN_PASSWORD: TEST_ADMIN.password,
    ADMIN_EMAIL: TEST_ADMIN.email,
    REMOTE_ALLOWED_NETWORKS: LOOPBACK_NETWORKS,
    // nginx has no active health checks: the grace only has to cover a request arriving as SIGTERM does.
    SHUTDOWN_DRAIN_MS: '1500',
    DATABASE_POOL_TIMEOUT_MS: '2000',
    PATH: process.env.PATH ?? '',
  };

  beforeAll(async () => {
    await ensureBuilt();
    pgA = await startPrivatePostgres();
    redisA = await startPrivateRedis();
    dbUrlA = pgA.url('mmfed_a');
    const log = (msg: string) => process.stdout.write(`[cluster] ${msg}\n`);
    [clusterA, clusterB] = await Promise.all([
      Cluster.start({
        name: 'A',
        replicas: REPLICAS,
        port: 0,
        env: { ...serverEnv, DATABASE_URL: dbUrlA, REDIS_URL: redisA.url, QUEUE_PREFIX: 'infra_a' },
        dir: join(work, 'nginx-a'),
        output: 'memory',
        log,
      }),
      Cluster.start({
        name: 'B',
        replicas: 1,
        port: 0,
        env: { ...serverEnv, DATABASE_URL: sharedDbUrl(dbB), REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefixB },
        dir: join(work, 'nginx-b'),
        output: 'memory',
        log,
      }),
    ]);
    fed = await federate([asInstance('A', clusterA, dbUrlA, 'infra_a'), asInstance('B', clusterB, sharedDbUrl(dbB), prefixB)]);
    const [A] = fed.sides;
    channel = await createChannel(A.inst, A.token, A.teamId, 'load-balanced');
    await shareWith(fed, channel, 1);
    clients = [];
    for (let i = 0; i < CLIENTS; i++) clients.push(await memberOf(A, `load${i}`, channel));
  }, 300_000);

  afterAll(async () => {
    await Promise.all([clusterA?.stop(), clusterB?.stop()]);
    await queryDb(TEST_PG_ADMIN_URL, `DROP DATABASE IF EXISTS "${dbB}" WITH (FORCE)`).catch(() => undefined);
    const redis = new Redis(TEST_REDIS_URL);
    for (let cursor = '0'; ; ) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefixB}:*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
    redis.disconnect();
    await redisA?.destroy();
    pgA?.destroy();
    // INFRA_KEEP=1 keeps nginx's and the replicas' logs for a look after a failure.
    if (process.env.INFRA_KEEP) process.stdout.write(`logs kept in ${work}\n`);
    else rmSync(work, { recursive: true, force: true });
    process.stdout.write(`\n[infra figures] all: ${JSON.stringify(figures, null, 2)}\n`);
  }, 120_000);

  /** Every accepted post of `load` is on B exactly once, and no post of the scenario is there twice. */
  async function everyAcceptedPostOnBOnce(load: ChatLoad): Promise<{ onB: number; syncMs: number }> {
    const accepted = load.accepted();
    const started = Date.now();
    let rows: Array<{ message: string; n: number }> = [];
    await eventually(
      async () => {
        rows = await fed.sides[1].inst.query<{ message: string; n: number }>(
          `SELECT message, count(*)::int AS n FROM posts WHERE channel_id = $1 AND message LIKE $2 GROUP BY message`,
          [channel, `${load.tag}-%`],
        );
        const onB = new Set(rows.map((r) => r.message));
        const missing = accepted.filter((o) => !onB.has(o.message!));
        if (missing.length) throw new Error(`${missing.length} of ${accepted.length} accepted posts are not on B yet, e.g. ${missing[0].message}`);
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    expect(rows.filter((r) => r.n !== 1)).toEqual([]);
    return { onB: rows.length, syncMs: Date.now() - started };
  }

  async function readiness(): Promise<number[]> {
    return Promise.all(
      Array.from({ length: clusterA.size }, (_, i) =>
        fetch(`${clusterA.replicaUrl(i)}/health/ready`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status, () => 0),
      ),
    );
  }

  it('SIGKILL of one replica: only requests in flight on it fail, reads are retried by nginx, every accepted post is on B once', async () => {
    const load = new ChatLoad(clusterA.url, clients, channel, 'kill');
    load.start();
    await load.acceptMore(40);
    const victim = 1;
    const victimAddr = `127.0.0.1:${clusterA.info().replicas[victim].port}`;
    const killedAt = Date.now();
    await clusterA.killReplica(victim);
    const killDone = Date.now();
    await load.acceptMore(80);
    await clusterA.startReplica(victim);
    await load.acceptMore(40);
    await load.stop();

    const failures = load.failures();
    // Only posts fail (nginx passes reads on to another replica), at most one per client, each one in flight when the
    // replica died and sent to it.
    expect(failures.filter((f) => f.method !== 'POST')).toEqual([]);
    expect(failures.length).toBeLessThanOrEqual(CLIENTS);
    const log = new Map(accessLog(join(work, 'nginx-a'), 'kill').map((l) => [l.rid, l]));
    for (const f of failures) {
      expect(f.startedAt).toBeLessThanOrEqual(killDone);
      expect(f.endedAt).toBeGreaterThanOrEqual(killedAt);
      expect(log.get(f.rid)?.upstreams).toEqual([victimAddr]);
    }
    const retried = [...log.values()].filter((l) => l.upstreams.length > 1);
    // Connections to the dead replica were refused and nginx passed those requests on.
    expect(retried.length).toBeGreaterThan(0);
    expect(retried.every((l) => l.upstreams[0] === victimAddr && l.status < 300)).toBe(true);
    const { onB, syncMs } = await everyAcceptedPostOnBOnce(load);
    report('kill', {
      requests: load.outcomes.length,
      postsAccepted: load.accepted().length,
      failures: failures.length,
      failuresByStatus: byStatus(failures),
      retriedByNginx: retried.length,
      retriedByMethod: byStatus(retried.map((l) => ({ method: load.outcomes.find((o) => o.rid === l.rid)!.method, status: l.status }) as Outcome)),
      postsOnB: onB,
      lastPostOnBAfterMs: syncMs,
    });
  });

  it('rolling restart of all three: no request fails, WebSocket clients reconnect and miss no post, every post is on B once', async () => {
    const [A] = fed.sides;
    const since = Date.now() - 1_000;
    const sessions = await Promise.all(clients.slice(0, 2).map(async (c) => {
      const ws = new WsSession(A.inst, c.token);
      await ws.open();
      return ws;
    }));
    const seen = sessions.map(() => ({ live: new Set<string>(), refetched: new Set<string>(), refetches: 0 }));
    sessions.forEach((ws, i) => {
      ws.client.addMessageListener((msg) => {
        if (msg.event !== 'posted') return;
        const post = postOf(msg);
        if (post.channel_id === channel) seen[i].live.add(post.id);
      });
      // A fresh hello (the new replica does not know the old connection): refetch what may have been missed, as
      // Mattermost's web app does.
      ws.client.addMissedMessageListener(() => {
        seen[i].refetches++;
        void http<{ order: string[] }>(A.inst, 'GET', `/api/v4/channels/${channel}/posts?since=${since}`, { token: ws.token }).then((res) => {
          if (res.status === 200) for (const id of res.body.order) seen[i].refetched.add(id);
        });
      });
    });
    const load = new ChatLoad(clusterA.url, clients, channel, 'roll');
    load.start();
    await load.acceptMore(30);
    const pidsBefore = clusterA.info().replicas.map((r) => r.pid);
    const rollStart = Date.now();
    await clusterA.roll();
    const rollMs = Date.now() - rollStart;
    await load.acceptMore(30);
    await load.stop();
    const pidsAfter = clusterA.info().replicas.map((r) => r.pid);
    pidsAfter.forEach((pid, i) => expect(pid).not.toBe(pidsBefore[i]));

    expect(load.failures()).toEqual([]);
    const { onB, syncMs } = await everyAcceptedPostOnBOnce(load);
    const ids = load.accepted().map((o) => o.postId!);
    await eventually(
      () => {
        seen.forEach((s, i) => {
          const missed = ids.filter((id) => !s.live.has(id) && !s.refetched.has(id));
          if (missed.length) throw new Error(`WebSocket client ${i} missed ${missed.length} of ${ids.length} posts`);
        });
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    // Every replica was restarted, so every WebSocket client was closed with 1001 and reconnected at least once.
    for (const s of sessions) expect(s.reconnects).toBeGreaterThanOrEqual(1);
    const retried = accessLog(join(work, 'nginx-a'), 'roll').filter((l) => l.upstreams.length > 1);
    report('rolling restart', {
      requests: load.outcomes.length,
      postsAccepted: ids.length,
      failures: load.failures().length,
      retriedByNginx: retried.length,
      rollMs,
      wsReconnects: sessions.reduce((n, s) => n + s.reconnects, 0),
      wsRefetches: seen.reduce((n, s) => n + s.refetches, 0),
      wsPostsLive: seen.reduce((n, s) => n + ids.filter((id) => s.live.has(id)).length, 0),
      wsPostsOnlyByRefetch: seen.reduce((n, s) => n + ids.filter((id) => !s.live.has(id) && s.refetched.has(id)).length, 0),
      postsOnB: onB,
      lastPostOnBAfterMs: syncMs,
    });
    for (const s of sessions) s.close();
  });

  /** Takes a dependency away under load: every replica reports not ready, then recovers by itself once it is back. */
  async function dependencyOutage(tag: string, stop: () => Promise<void> | void, start: () => Promise<void>) {
    const load = new ChatLoad(clusterA.url, clients, channel, tag);
    load.start();
    await load.acceptMore(30);
    const pids = clusterA.info().replicas.map((r) => r.pid);
    const stoppedAt = Date.now();
    await stop();
    await eventually(async () => expect(await readiness()).toEqual(Array(REPLICAS).fill(503)), { timeoutMs: 30_000, intervalMs: 100 });
    const allNotReadyAt = Date.now();
    // Down for a while under load.
    await new Promise((r) => setTimeout(r, 3_000));
    const restartedAt = Date.now();
    await start();
    await eventually(async () => expect(await readiness()).toEqual(Array(REPLICAS).fill(200)), { timeoutMs: 60_000, intervalMs: 100 });
    const readyAt = Date.now();
    await load.acceptMore(30);
    await load.stop();
    // Recovered without a restart of their own.
    expect(clusterA.info().replicas.map((r) => r.pid)).toEqual(pids);
    const { onB, syncMs } = await everyAcceptedPostOnBOnce(load);
    report(tag, {
      requests: load.outcomes.length,
      postsAccepted: load.accepted().length,
      failures: load.failures().length,
      failuresByStatus: byStatus(load.failures()),
      allNotReadyAfterMs: allNotReadyAt - stoppedAt,
      downMs: restartedAt - stoppedAt,
      readyAgainAfterRestartMs: readyAt - restartedAt,
      postsOnB: onB,
      lastPostOnBAfterMs: syncMs,
    });
    return load;
  }

  it('PostgreSQL restarted: every replica is not ready while it is gone, recovers by itself, every accepted post is on B once', async () => {
    const load = await dependencyOutage('pg', () => pgA.stop(), () => pgA.start());
    // Nothing answered 500 while the database was away: 503 (busy/unavailable) or the balancer's 502 at most.
    expect(load.failures().filter((f) => f.status === 500)).toEqual([]);
  });

  it('Redis restarted (losing every key): every replica is not ready while it is gone, recovers by itself, every accepted post is on B once', async () => {
    const load = await dependencyOutage('redis', () => redisA.stop(), () => redisA.start());
    expect(load.failures().filter((f) => f.status === 500)).toEqual([]);
  });
});
