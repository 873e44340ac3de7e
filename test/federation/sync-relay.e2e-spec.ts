import { createChannel, createPost } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { converged, type Federation, memberOf, shareWith, startFederation } from '../support/federation.js';
import { http } from '../support/http.js';
import { metricValue } from '../support/remote-cluster.js';

describe('three servers (A home, B and C remotes): the home relays, nothing echoes', () => {
  let fed: Federation;

  beforeAll(async () => {
    fed = await startFederation(2);
  }, 90_000);
  afterAll(() => fed?.destroy());

  it('everything made anywhere reaches both others exactly once', async () => {
    const [A, B, C] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'relay-town');
    await shareWith(fed, channel, 1);
    await shareWith(fed, channel, 2);
    const alice = await memberOf(A, 'alice', channel);
    const bob = await memberOf(B, 'bob', channel);
    const carol = await memberOf(C, 'carol', channel);

    const fromA = await createPost(A.inst, alice.token, channel, 'from A');
    const fromB = await createPost(B.inst, bob.token, channel, 'from B');
    const fromC = await createPost(C.inst, carol.token, channel, 'from C');
    await eventually(async () => {
      for (const s of [A, B, C]) expect(await s.inst.query('SELECT id FROM posts WHERE id = ANY($1)', [[fromA.id, fromB.id, fromC.id]])).toHaveLength(3);
    }, { timeoutMs: 20_000 });
    await http(B.inst, 'PUT', `/api/v4/posts/${fromB.id}/patch`, { token: bob.token, body: { message: 'from B, edited' } });
    await http(C.inst, 'POST', '/api/v4/reactions', { token: carol.token, body: { user_id: carol.id, post_id: fromB.id, emoji_name: 'heart' } });
    await http(B.inst, 'POST', '/api/v4/reactions', { token: bob.token, body: { user_id: bob.id, post_id: fromC.id, emoji_name: 'tada' } });
    await http(C.inst, 'POST', `/api/v4/users/${carol.id}/posts/${fromA.id}/ack`, { token: carol.token });
    const reply = await createPost(C.inst, carol.token, channel, 'reply from C', { root_id: fromB.id });

    const state = await converged([A.inst, B.inst, C.inst], channel);
    expect(state.posts.map((p) => p.id).sort()).toEqual([fromA.id, fromB.id, fromC.id, reply.id].sort());
    expect(state.posts.find((p) => p.id === fromB.id)).toMatchObject({ message: 'from B, edited', edited: true });
    expect(state.reactions).toEqual([`${bob.id}:${fromC.id}:tada`, `${carol.id}:${fromB.id}:heart`].sort());
    expect(state.acks).toEqual([`${carol.id}:${fromA.id}`]);

    // C's users reached B through A, owned on B by B's connection to A; B's by C the same way.
    const [carolOnB] = await B.inst.query<{ remote_id: string; username: string }>('SELECT remote_id, username FROM users WHERE id = $1', [carol.id]);
    expect(carolOnB.remote_id).toBe(fed.remoteIds[1]);
    expect(carolOnB.username).toMatch(/^carol:/);

    // Exactly once and no echo: each remote wrote each foreign post once (create + edit for B's post on C),
    // refused nothing, and never received its own content back.
    await eventually(async () => {
      expect(await metricValue(B.inst, 'shared_channels_items_received_total', { kind: 'post' })).toBe(3); // fromA, fromC, reply
      expect(await metricValue(C.inst, 'shared_channels_items_received_total', { kind: 'post' })).toBe(3); // fromA, fromB, fromB edit
      expect(await metricValue(A.inst, 'shared_channels_items_received_total', { kind: 'post' })).toBe(4); // fromB, fromC, edit, reply
    });
    for (const s of [A, B, C]) expect(await metricValue(s.inst, 'shared_channels_item_errors_total')).toBe(0);
    const sentToB = await metricValue(A.inst, 'shared_channels_items_sent_total', { remote_id: fed.remoteIds[1], kind: 'post' });
    const sentToC = await metricValue(A.inst, 'shared_channels_items_sent_total', { remote_id: fed.remoteIds[2], kind: 'post' });
    expect({ sentToB, sentToC }).toEqual({ sentToB: 3, sentToC: 3 });
  });
});
