import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { QueueName } from '../../src/queue/queue.constants.js';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { CONNECTION_STATE_EVENT, type ConnectionStateChange } from '../../src/modules/remote-cluster/connection-state.service.js';
import { RemoteClusterHeartbeatService } from '../../src/modules/remote-cluster/remote-cluster-heartbeat.service.js';
import { eventually } from '../support/eventually.js';
import { startInstance, type Instance } from '../support/instance.js';
import { adminWithTeam, connect, metricValue } from '../support/remote-cluster.js';

const PING_INTERVAL_MS = 400;
const REMOTE_OFFLINE_AFTER_MS = 1500;
const env = { PING_INTERVAL_MS: String(PING_INTERVAL_MS), REMOTE_OFFLINE_AFTER_MS: String(REMOTE_OFFLINE_AFTER_MS) };

/**
 * Two replicas of A (one database, one Redis prefix) behind which B is connected: the heartbeat is a shared
 * BullMQ job scheduler, so B is pinged once per interval by the pair, not once per replica, and a state change
 * is announced by one replica only.
 */
describe('replicas of one server sharing the heartbeat', () => {
  let a1: Instance;
  let a2: Instance;
  let b: Instance;
  let remoteId: string;
  const events: Array<ConnectionStateChange & { replica: string }> = [];

  beforeAll(async () => {
    [a1, b] = await Promise.all([startInstance('A', env), startInstance('B', env)]);
    a2 = await startInstance('A2', { ...env, DATABASE_URL: a1.config.database.url, QUEUE_PREFIX: a1.queuePrefix });
    for (const [name, inst] of [['a1', a1], ['a2', a2]] as const) {
      inst.app!.get(EventEmitter2).on(CONNECTION_STATE_EVENT, (change: ConnectionStateChange) => void events.push({ ...change, replica: name }));
    }
    remoteId = await connect(await adminWithTeam(a1), await adminWithTeam(b));
  });
  afterAll(async () => {
    // a2 shares a1's database and Redis keys: stop it, let a1 drop them.
    await a2?.stop();
    await Promise.all([a1?.destroy(), b?.destroy()]);
  });

  it('are one server: a2 sees the connection a1 made', async () => {
    expect(a2.dbName).toBe(a1.dbName);
    expect(a2.queuePrefix).toBe(a1.queuePrefix);
    await eventually(() => expect(events.filter((e) => e.online)).toHaveLength(1));
  });

  it('ping B once per interval between them, not once each', async () => {
    const intervals = 10;
    const received = () => metricValue(b, 'remote_cluster_msg_received_total', { remote_id: remoteId });
    const start = await received();
    const startedAt = Date.now();
    await new Promise((r) => setTimeout(r, intervals * PING_INTERVAL_MS));
    const pings = (await received()) - start;
    const elapsedIntervals = (Date.now() - startedAt) / PING_INTERVAL_MS;
    console.info(`B received ${pings} pings from two replicas of A in ${elapsedIntervals.toFixed(1)} intervals`);
    // One replica each would be ~2 per interval; allow scheduling jitter around 1.
    expect(pings).toBeGreaterThanOrEqual(Math.floor(elapsedIntervals) - 2);
    expect(pings).toBeLessThanOrEqual(Math.ceil(elapsedIntervals) + 1);
  });

  it('decide each state change in the database, so replicas racing on it announce it once', async () => {
    const queue = a1.app!.get<Queue>(getQueueToken(QueueName.RemoteCluster), { strict: false });
    await queue.pause(); // no scheduled ping may land in the middle
    try {
      await eventually(async () => expect(await queue.getActiveCount()).toBe(0));
      const [h1, h2] = [a1, a2].map((inst) => inst.app!.get(RemoteClusterHeartbeatService));
      const before = events.length;
      await a1.query('UPDATE remote_clusters SET last_ping_at = $2 WHERE remote_id = $1', [remoteId, Date.now() - 10 * REMOTE_OFFLINE_AFTER_MS]);

      const flipped = await Promise.all([h1.sweepOffline(), h2.sweepOffline(), h1.sweepOffline(), h2.sweepOffline()]);
      expect(flipped.reduce((x, y) => x + y)).toBe(1);
      expect(await Promise.all([h1.pingRemote(remoteId), h2.pingRemote(remoteId), h1.pingRemote(remoteId)])).toEqual(['online', 'online', 'online']);
      expect(events.slice(before).map((e) => e.online)).toEqual([false, true]);
    } finally {
      await queue.resume();
    }
  });

  it('announce B going offline and coming back once, on one replica', async () => {
    const before = events.length;
    await b.stop();
    await eventually(() => expect(events.slice(before).map((e) => e.online)).toEqual([false]), { timeoutMs: REMOTE_OFFLINE_AFTER_MS * 4 });
    await b.start();
    await eventually(() => expect(events.slice(before).map((e) => e.online)).toEqual([false, true]), { timeoutMs: PING_INTERVAL_MS * 8 });
    await new Promise((r) => setTimeout(r, PING_INTERVAL_MS * 3));
    expect(events.map((e) => [e.remote_id, e.online])).toEqual([
      [remoteId, true],
      [remoteId, false],
      [remoteId, true],
      [remoteId, false],
      [remoteId, true],
    ]);
    const total = async (online: string) =>
      (await metricValue(a1, 'remote_cluster_conn_state_change_total', { remote_id: remoteId, online })) +
      (await metricValue(a2, 'remote_cluster_conn_state_change_total', { remote_id: remoteId, online }));
    expect(await total('false')).toBe(2);
    expect(await total('true')).toBe(3);
  });
});
