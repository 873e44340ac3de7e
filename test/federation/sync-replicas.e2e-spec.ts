import { createChannel, createPost } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { converged, FAST_FEDERATION_ENV, type Federation, memberOf, shareWith, startFederation } from '../support/federation.js';
import { http, login } from '../support/http.js';
import { startInstance, type Instance } from '../support/instance.js';
import { metricValue } from '../support/remote-cluster.js';

describe('two replicas of A (one database, one Redis) with workers on both', () => {
  let fed: Federation;
  let a2: Instance;

  beforeAll(async () => {
    fed = await startFederation(1);
    const a = fed.sides[0].inst;
    a2 = await startInstance('A2', { ...FAST_FEDERATION_ENV, DATABASE_URL: a.config.database.url, QUEUE_PREFIX: a.queuePrefix, FILES_DIR: a.config.files.dir });
  }, 60_000);
  afterAll(async () => {
    await a2?.stop();
    await fed?.destroy();
  });

  it('sync every change exactly once', async () => {
    const [A, B] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'replicated');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice', channel);
    const aliceOnA2 = await login(a2, 'alice', 'alice-password');

    const posts = await Promise.all(
      Array.from({ length: 120 }, (_, i) => createPost(i % 2 ? a2 : A.inst, i % 2 ? aliceOnA2 : alice.token, channel, `replica post ${i}`)),
    );
    for (const p of posts.slice(0, 40)) {
      await http(posts.indexOf(p) % 2 ? a2 : A.inst, 'POST', '/api/v4/reactions', {
        token: posts.indexOf(p) % 2 ? aliceOnA2 : alice.token,
        body: { user_id: alice.id, post_id: p.id, emoji_name: 'eyes' },
      });
    }
    const state = await converged([A.inst, B.inst], channel, 30_000);
    expect(state.posts).toHaveLength(120);
    expect(state.reactions).toHaveLength(40);

    await eventually(async () => {
      const sent =
        (await metricValue(A.inst, 'shared_channels_items_sent_total', { kind: 'post' })) +
        (await metricValue(a2, 'shared_channels_items_sent_total', { kind: 'post' }));
      expect(sent).toBe(120);
      expect(await metricValue(B.inst, 'shared_channels_items_received_total', { kind: 'post' })).toBe(120);
      expect(await metricValue(B.inst, 'shared_channels_items_received_total', { kind: 'reaction' })).toBe(40);
    });
    // Both replicas did sync work (the jobs are shared, not pinned to one replica)...
    const runsA = await metricValue(A.inst, 'shared_channels_sync_counter', { result: 'ok' });
    const runsA2 = await metricValue(a2, 'shared_channels_sync_counter', { result: 'ok' });
    expect(runsA + runsA2).toBeGreaterThan(0);
    // ...and B refused nothing.
    expect(await metricValue(B.inst, 'shared_channels_item_errors_total')).toBe(0);
  });
});
