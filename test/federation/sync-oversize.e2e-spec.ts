import { BodyLimitProxy } from '../support/body-limit-proxy.js';
import { addToChannel, createChannel, createPost, createUser } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { type Federation, memberOf, shareWith } from '../support/federation.js';
import { http } from '../support/http.js';
import { startProxiedFederation } from '../support/proxied-federation.js';

/**
 * B sits behind a proxy that refuses request bodies over 40 kB with 413 (as nginx's client_max_body_size, or a
 * Mattermost receiver's MaximumPayloadSizeBytes, would). A message that is too large is split down to single items;
 * a single item still refused is parked where an admin sees it, and everything else goes on.
 */
describe('oversize items: split, then parked alone; the channel goes on', () => {
  let fed: Federation;
  let proxy: BodyLimitProxy;

  beforeAll(async () => {
    ({ fed, proxy } = await startProxiedFederation({ SYNC_POST_MAX_ATTEMPTS: '2' }, {}, new BodyLimitProxy()));
  }, 60_000);
  afterAll(() => fed?.destroy());

  it('an oversize user and an oversize post are parked; every other user and post arrives', async () => {
    const [A, B] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'oversize');
    await shareWith(fed, channel, 1);
    proxy.limit = 40_000;
    const bob = await memberOf(A, 'bob-small', channel);
    // Alice's profile carries 100 kB of props before she joins: no message with her in it gets past the proxy.
    const alice = await createUser(A.inst, A.token, 'alice-big');
    await A.inst.query(`UPDATE users SET props = jsonb_build_object('about', repeat('x', 100000)) WHERE id = $1`, [alice.id]);
    await http(A.inst, 'POST', `/api/v4/teams/${A.teamId}/members`, { token: A.token, body: { team_id: A.teamId, user_id: alice.id } });
    await addToChannel(A.inst, A.token, channel, alice.id);

    const before = await Promise.all([1, 2, 3].map((i) => createPost(A.inst, bob.token, channel, `small ${i}`)));
    const fromAlice = await createPost(A.inst, alice.token, channel, 'from the oversize user');
    const huge = await createPost(A.inst, bob.token, channel, '€'.repeat(16_000));
    const after = await Promise.all([4, 5, 6].map((i) => createPost(A.inst, bob.token, channel, `small ${i}`)));

    await eventually(async () => {
      const ids = [...before, ...after].map((p) => p.id);
      expect(await B.inst.query('SELECT id FROM posts WHERE id = ANY($1)', [ids])).toHaveLength(ids.length);
    }, { timeoutMs: 30_000 });
    expect(await B.inst.query('SELECT id FROM users WHERE id = $1', [bob.id])).toHaveLength(1);
    expect(await B.inst.query('SELECT id FROM users WHERE id = $1', [alice.id])).toHaveLength(0);
    expect(await B.inst.query('SELECT id FROM posts WHERE id = ANY($1)', [[huge.id, fromAlice.id]])).toHaveLength(0);
    expect(proxy.refused).toBeGreaterThan(0);

    // Parked, visible to an admin: the oversize post, the oversize user (as a profile, and in her membership change),
    // and the post that needs her.
    const parked = await eventually(async () => {
      const res = await http<Array<{ kind: string; item_key: string; parked: boolean; last_error: string }>>(
        A.inst, 'GET', '/api/v4/sharedchannels/sync/rejected?parked=true', { token: A.token },
      );
      expect(res.status).toBe(200);
      const keys = res.body.map((r) => `${r.kind}:${r.item_key}`).sort();
      expect(keys).toEqual([`membership:${alice.id}`, `post:${fromAlice.id}`, `post:${huge.id}`, `user:${alice.id}`].sort());
      return res.body;
    }, { timeoutMs: 30_000 });
    expect(parked.find((r) => r.item_key === huge.id)!.last_error).toMatch(/too large/);
    expect(parked.find((r) => r.item_key === alice.id)!.last_error).toMatch(/too large/);

    // The channel still flows.
    const later = await createPost(A.inst, bob.token, channel, 'after the parking');
    await eventually(async () => expect(await B.inst.query('SELECT id FROM posts WHERE id = $1', [later.id])).toHaveLength(1), { timeoutMs: 15_000 });
  }, 90_000);
});
