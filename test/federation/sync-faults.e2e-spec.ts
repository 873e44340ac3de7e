import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QueueName } from '../../src/queue/queue.constants.js';
import { SyncProcessor } from '../../src/modules/sync/sync.processor.js';
import { createChannel, createPost } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { channelState, converged, type Federation, memberOf, shareWith, startFederation } from '../support/federation.js';
import { http } from '../support/http.js';
import { metricValue } from '../support/remote-cluster.js';
import { TEST_REDIS_URL } from '../support/test-env.js';

async function deleteKeys(pattern: string): Promise<number> {
  const redis = new Redis(TEST_REDIS_URL);
  let n = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length) n += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return n;
}

describe('sync under faults: nothing lost, nothing doubled, nothing blocked', () => {
  let fed: Federation;

  beforeAll(async () => {
    fed = await startFederation(1, { SYNC_POST_MAX_ATTEMPTS: '2' });
  }, 60_000);
  afterAll(() => fed?.destroy());

  it('B stopped while A takes 500 posts: all arrive after B starts, in order, without duplicates', async () => {
    const [A, B] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'outage');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice', channel);
    await createPost(A.inst, alice.token, channel, 'before the outage');
    await converged([A.inst, B.inst], channel);

    await B.inst.stop();
    const ids: string[] = [];
    for (let i = 0; i < 500; i += 25) {
      const batch = await Promise.all(Array.from({ length: 25 }, (_, j) => createPost(A.inst, alice.token, channel, `during outage ${i + j}`)));
      ids.push(...batch.map((p) => p.id));
    }
    await B.inst.start();
    const state = await converged([A.inst, B.inst], channel, 60_000);
    expect(state.posts).toHaveLength(501);
    const onB = await B.inst.query<{ id: string }>("SELECT id FROM posts WHERE channel_id = $1 AND type NOT LIKE 'system\\_%' ORDER BY create_at, id", [channel]);
    const onA = await A.inst.query<{ id: string }>("SELECT id FROM posts WHERE channel_id = $1 AND type NOT LIKE 'system\\_%' ORDER BY create_at, id", [channel]);
    expect(onB.map((r) => r.id)).toEqual(onA.map((r) => r.id));
    // Applied in A's commit order: B's own change sequence follows A's.
    const bySeqOnB = await B.inst.query<{ id: string }>("SELECT id FROM posts WHERE channel_id = $1 AND type NOT LIKE 'system\\_%' ORDER BY seq", [channel]);
    const bySeqOnA = await A.inst.query<{ id: string }>("SELECT id FROM posts WHERE channel_id = $1 AND type NOT LIKE 'system\\_%' ORDER BY seq", [channel]);
    expect(bySeqOnB.map((r) => r.id)).toEqual(bySeqOnA.map((r) => r.id));
    expect(new Set(ids).size).toBe(500);
  }, 120_000);

  it('Redis flushed between commit and sync: the sweep finds and delivers everything', async () => {
    const [A, B] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'flushed');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice-f', channel);
    await converged([A.inst, B.inst], channel);

    const worker = A.inst.app!.get(SyncProcessor).worker;
    await worker.pause(true);
    try {
      for (let i = 0; i < 20; i++) await createPost(A.inst, alice.token, channel, `committed, then Redis lost it ${i}`);
      const queue = A.inst.app!.get<Queue>(getQueueToken(QueueName.Sync), { strict: false });
      expect(await queue.count()).toBeGreaterThan(0);
      // Everything of A's sync queue, including the sweep's scheduler, is gone.
      expect(await deleteKeys(`${A.inst.queuePrefix}:bull:sync:*`)).toBeGreaterThan(0);
      // The scheduler's last add (a burst is folded into one follow-up) may land just after the flush: flush
      // until none is left, as a Redis that lost its data would hold none.
      await eventually(async () => {
        await deleteKeys(`${A.inst.queuePrefix}:bull:sync:*`);
        await new Promise((r) => setTimeout(r, 100));
        expect(await queue.count()).toBe(0);
      });
    } finally {
      worker.resume();
    }
    const state = await converged([A.inst, B.inst], channel, 30_000);
    expect(state.posts).toHaveLength(20);
  }, 60_000);

  it('a post B rejects does not hold back the others and is parked where an admin sees and retries it', async () => {
    const [A, B] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'rejections');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice-r', channel);
    const dora = await memberOf(A, 'dora-r', channel);
    await createPost(A.inst, dora.token, channel, 'dora is known on B now');
    await converged([A.inst, B.inst], channel);
    // B's copy of dora no longer belongs to A (an operator's mistake): posts by her can only be rejected there.
    await B.inst.query("UPDATE users SET remote_id = 'zzzzzzzzzzzzzzzzzzzzzzzzzz' WHERE id = $1", [dora.id]);
    const rejectedPost = await createPost(A.inst, dora.token, channel, 'B must reject this');
    const after = await Promise.all([1, 2, 3].map((i) => createPost(A.inst, alice.token, channel, `after the rejected one ${i}`)));

    await eventually(async () => {
      const onB = await B.inst.query<{ id: string }>('SELECT id FROM posts WHERE id = ANY($1)', [after.map((p) => p.id)]);
      expect(onB).toHaveLength(3);
    }, { timeoutMs: 20_000 });
    expect(await B.inst.query('SELECT id FROM posts WHERE id = $1', [rejectedPost.id])).toHaveLength(0);

    // Retried with backoff (2 s after the first rejection), then parked after SYNC_POST_MAX_ATTEMPTS = 2.
    const rejected = await eventually(async () => {
      const res = await http<Array<{ id: string; kind: string; post_id: string; parked: boolean; attempts: number }>>(
        A.inst, 'GET', '/api/v4/sharedchannels/sync/rejected?parked=true', { token: A.token },
      );
      expect(res.status).toBe(200);
      expect(res.body.map((r) => [r.kind, r.post_id])).toEqual([['post', rejectedPost.id]]);
      return res.body[0];
    }, { timeoutMs: 20_000 });
    expect(rejected.attempts).toBe(2);
    expect(await metricValue(A.inst, 'shared_channels_parked_posts', { remote_id: fed.remoteIds[1] })).toBe(1);
    expect(await metricValue(A.inst, 'shared_channels_parked_items', { remote_id: fed.remoteIds[1], kind: 'post' })).toBe(1);

    // The admin repairs B and retries: now it goes through and leaves the table.
    await B.inst.query('UPDATE users SET remote_id = $2 WHERE id = $1', [dora.id, fed.remoteIds[1]]);
    const retry = await http(A.inst, 'POST', `/api/v4/sharedchannels/sync/rejected/${rejected.id}/retry`, { token: A.token });
    expect(retry.status).toBe(200);
    await eventually(async () => expect(await B.inst.query('SELECT id FROM posts WHERE id = $1', [rejectedPost.id])).toHaveLength(1), { timeoutMs: 20_000 });
    await eventually(async () => {
      const res = await http<unknown[]>(A.inst, 'GET', '/api/v4/sharedchannels/sync/rejected', { token: A.token });
      expect(res.body).toEqual([]);
    });
    expect((await channelState(B.inst, channel)).posts.map((p) => p.id)).toContain(rejectedPost.id);
  }, 60_000);

  it('a reply to a root B lost brings the root back first, without a retry', async () => {
    const [A, B] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'lost-root');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice-lr', channel);
    const root = await createPost(A.inst, alice.token, channel, 'root B will lose');
    await converged([A.inst, B.inst], channel);
    // B loses the root (as if an admin hard-deleted it); A still believes B has it.
    await B.inst.query('DELETE FROM posts WHERE id = $1', [root.id]);
    const reply = await createPost(A.inst, alice.token, channel, 'reply to the lost root', { root_id: root.id });
    const state = await converged([A.inst, B.inst], channel, 20_000);
    expect(state.posts.map((p) => p.id)).toEqual(expect.arrayContaining([root.id, reply.id]));
    expect(await A.inst.query('SELECT 1 FROM sync_item_retries WHERE channel_id = $1', [channel])).toHaveLength(0);
  }, 60_000);
});
