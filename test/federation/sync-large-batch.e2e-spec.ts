import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { QueueName } from '../../src/queue/queue.constants.js';
import { TOPIC_SYNC } from '../../src/modules/shared-channel/wire.types.js';
import { SYNC_MAX_MESSAGE_BYTES } from '../../src/modules/sync/sync.constants.js';
import { createChannel, createPost } from '../support/chat.js';
import { converged, type Federation, memberOf, shareWith, startFederation } from '../support/federation.js';
import { wrapTopic } from '../support/topics.js';

const POSTS = 150;
const LONG = 'x'.repeat(16_000);

/**
 * A backlog of long posts (150 x 16,000 characters, about 2.4 MB) is one sync pass but must not be one request:
 * the sender splits it into messages of at most SYNC_MAX_MESSAGE_BYTES of posts, and every post arrives once.
 */
describe('a batch of long posts is split into messages of bounded size', () => {
  let fed: Federation;

  beforeAll(async () => {
    fed = await startFederation(1);
  }, 60_000);
  afterAll(() => fed?.destroy());

  it('sends 2.4 MB of posts in several messages under the limit, all applied', async () => {
    const [A, B] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'long-posts');
    await shareWith(fed, channel, 1);
    const writer = await memberOf(A, 'long-writer', channel);
    await createPost(A.inst, writer.token, channel, 'short, so the writer is known to B');
    await converged([A.inst, B.inst], channel);

    // Record the size of every sync message B receives for the channel.
    const postBytes: number[] = [];
    const restore = wrapTopic(B.inst, TOPIC_SYNC, (original) => (rc, msg) => {
      const posts = (msg.payload as { posts?: unknown[] }).posts;
      if (posts?.length) postBytes.push(posts.reduce<number>((n, p) => n + Buffer.byteLength(JSON.stringify(p)), 0));
      return original(rc, msg);
    });

    // The posts pile up on A while its sync queue is paused, so they leave in one pass.
    const queue = A.inst.app!.get<Queue>(getQueueToken(QueueName.Sync));
    await queue.pause();
    const ids: string[] = [];
    try {
      for (let i = 0; i < POSTS; i++) ids.push((await createPost(A.inst, writer.token, channel, `${i} ${LONG}`)).id);
    } finally {
      await queue.resume();
    }
    try {
      const state = await converged([A.inst, B.inst], channel, 30_000);
      expect(state.posts.filter((p) => ids.includes(p.id)).map((p) => p.id)).toEqual(ids);
    } finally {
      restore();
    }
    expect(postBytes.length).toBeGreaterThanOrEqual(2);
    for (const bytes of postBytes) expect(bytes).toBeLessThanOrEqual(SYNC_MAX_MESSAGE_BYTES);
    expect(postBytes.reduce((a, b) => a + b, 0)).toBeGreaterThan(POSTS * LONG.length);
    // Each post was sent exactly once.
    const [{ n }] = await B.inst.query<{ n: string }>('SELECT count(*) AS n FROM change_events WHERE channel_id = $1 AND kind = $2 AND data->>\'post_id\' = ANY($3)', [channel, 'post_created', ids]);
    expect(Number(n)).toBe(POSTS);
  }, 90_000);
});
