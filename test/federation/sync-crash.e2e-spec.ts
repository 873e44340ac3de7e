import { startChildInstance, type ChildInstance } from '../support/child-instance.js';
import { createChannel, createPost } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { channelState, FAST_FEDERATION_ENV, memberOf } from '../support/federation.js';
import { http } from '../support/http.js';
import { startInstance, type Instance } from '../support/instance.js';
import { adminWithTeam, connect, type AdminSide } from '../support/remote-cluster.js';

/** A is a real process here, so it can be killed with SIGKILL in the middle of a sync batch. */
describe('the sending process killed mid-batch and restarted: nothing lost or doubled', () => {
  let aProc: ChildInstance;
  let b: Instance;

  beforeAll(async () => {
    aProc = await startChildInstance('A', { ...FAST_FEDERATION_ENV, SYNC_BATCH_POSTS: '20' });
    b = await startInstance('B', FAST_FEDERATION_ENV);
  }, 240_000);
  afterAll(async () => {
    await aProc?.destroy();
    await b?.destroy();
  });

  it('delivers every post exactly once', async () => {
    const A: AdminSide = await adminWithTeam(aProc);
    const B: AdminSide = await adminWithTeam(b);
    const remoteId = await connect(A, B);
    const channel = await createChannel(aProc, A.token, A.teamId, 'crashy');
    await eventually(async () => {
      const res = await http(aProc, 'POST', `/api/v4/remotecluster/${remoteId}/channels/${channel}/invite`, { token: A.token });
      if (res.status !== 200) throw new Error(res.text);
    }, { timeoutMs: 15_000, intervalMs: 300 });
    await eventually(async () => expect(await b.query('SELECT 1 FROM shared_channels WHERE channel_id = $1', [channel])).toHaveLength(1));
    const alice = await memberOf(A, 'alice', channel);

    // A backlog of 600 posts builds while B is down; B comes back and A starts sending in batches of 20.
    await b.stop();
    for (let i = 0; i < 600; i += 30) {
      await Promise.all(Array.from({ length: 30 }, (_, j) => createPost(aProc, alice.token, channel, `post ${i + j}`)));
    }
    await b.start();
    await eventually(async () => {
      const [{ n }] = await b.query<{ n: string }>("SELECT count(*) AS n FROM posts WHERE channel_id = $1 AND type NOT LIKE 'system\\_%'", [channel]);
      expect(Number(n)).toBeGreaterThan(40);
    }, { timeoutMs: 30_000, intervalMs: 20 });
    await aProc.kill();
    const [{ n: atCrash }] = await b.query<{ n: string }>("SELECT count(*) AS n FROM posts WHERE channel_id = $1 AND type NOT LIKE 'system\\_%'", [channel]);
    expect(Number(atCrash)).toBeLessThan(600);

    await aProc.start();
    await eventually(async () => {
      const [onA, onB] = await Promise.all([channelState(aProc, channel), channelState(b, channel)]);
      expect(onB).toEqual(onA);
      expect(onB.posts).toHaveLength(600);
    }, { timeoutMs: 90_000, intervalMs: 250 });
    // No post was written twice on B: one journal entry per post.
    const [{ n: events }] = await b.query<{ n: string }>(
      `SELECT count(*) AS n FROM change_events e JOIN posts p ON p.id = e.data->>'post_id'
        WHERE e.channel_id = $1 AND e.kind = 'post_created' AND p.type NOT LIKE 'system\\_%'`,
      [channel],
    );
    expect(Number(events)).toBe(600);
  }, 180_000);
});
