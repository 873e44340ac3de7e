import { newId } from '../../src/common/ids.js';
import { SYNC_MSG_CAPS } from '../../src/modules/sync/sync-wire.js';
import { createChannel, createPost } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { converged, type Federation, memberOf, shareWith, startFederation } from '../support/federation.js';
import { http } from '../support/http.js';
import { startPinger } from '../support/pinger.js';
import type { Instance } from '../support/instance.js';
import { remoteHeaders, storedRemote } from '../support/remote-cluster.js';

describe('hostile text and oversized items in a shared channel', () => {
  let fed: Federation;
  let A: Instance;
  let B: Instance;
  let channel: string;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  let alicePost: string;

  beforeAll(async () => {
    fed = await startFederation(1);
    [A, B] = fed.sides.map((s) => s.inst);
    channel = await createChannel(A, fed.sides[0].token, fed.sides[0].teamId, 'hostile-text');
    await shareWith(fed, channel, 1);
    alice = await memberOf(fed.sides[0], 'alice', channel);
    bob = await memberOf(fed.sides[1], 'bob', channel);
    alicePost = (await createPost(A, alice.token, channel, 'alice speaks')).id;
    await createPost(B, bob.token, channel, 'bob speaks');
    await converged([A, B], channel);
  }, 90_000);
  afterAll(() => fed?.destroy());

  it('hostile messages sync both ways without holding up either server, and the next ordinary post still arrives', async () => {
    const n = 16_000;
    const hostile = [
      `http://a/${'a'.repeat(n)}/pl/`,
      `see https://chat.example.com:8065/${'a-'.repeat(n / 2)}/plshared/`,
      `@${'.'.repeat(n)}`,
      `@alice${'.'.repeat(5000)} @bob${'_'.repeat(5000)} @${':'.repeat(5000)}x`,
      Array.from({ length: 250 }, (_, i) => `http://evil.example/t${i}/plshared/${newId()}`).join(' '),
      `https://x/${'0'.repeat(n)}/plshared/${newId()}`,
      Array.from({ length: 1500 }, (_, i) => `@user${i}.`).join(' '),
      'http://'.repeat(Math.floor(16_383 / 7)),
    ];
    for (const m of hostile) expect(m.length).toBeLessThanOrEqual(16_383);
    // Both servers run in this process: a sync worker that blocks the event loop (a regex backtracking for hours)
    // shows up as pings never answered.
    const pings = startPinger([A, B]);
    const fromA: string[] = [];
    const fromB: string[] = [];
    try {
      for (const message of hostile) {
        fromA.push((await createPost(A, alice.token, channel, message)).id);
        fromB.push((await createPost(B, bob.token, channel, message)).id);
      }
      fromA.push((await createPost(A, alice.token, channel, 'an ordinary post from A after all that')).id);
      fromB.push((await createPost(B, bob.token, channel, 'an ordinary post from B after all that')).id);
      // Every post reaches the other side, the ordinary ones after the hostile ones included.
      const count = async (inst: Instance, ids: string[]) => (await inst.query('SELECT id FROM posts WHERE id = ANY($1)', [ids])).length;
      await eventually(async () => {
        expect(await count(B, fromA)).toBe(fromA.length);
        expect(await count(A, fromB)).toBe(fromB.length);
      }, { timeoutMs: 30_000, intervalMs: 100 });
    } finally {
      const { failures, answered } = await pings.stop();
      expect(failures).toEqual([]);
      expect(answered).toBeGreaterThan(0);
    }
    // The lookalike links a peer sent now point at the receiver's own site (protocol 9.1); the link-shaped
    // 16k-character runs that are no links are left as they were.
    const lookalike = hostile.findIndex((m) => m.startsWith('http://evil.example/'));
    const [onB] = await B.query<{ message: string }>('SELECT message FROM posts WHERE id = $1', [fromA[lookalike]]);
    expect(onB.message.startsWith(`${B.url}/`)).toBe(true);
    expect(onB.message).not.toContain('evil.example');
    const [longOnB] = await B.query<{ message: string }>('SELECT message FROM posts WHERE id = $1', [fromA[0]]);
    expect(longOnB.message).toBe(hostile[0]);
  }, 120_000);

  async function frameFromB(payload: Record<string, unknown>) {
    const remoteId = fed.remoteIds[1];
    const bSide = await storedRemote(B, remoteId);
    const res = await http(A, 'POST', '/api/v4/remotecluster/msg', {
      headers: remoteHeaders(remoteId, bSide.remote_token),
      rawBody: JSON.stringify({ remote_id: remoteId, msg: { id: newId(), topic: 'sharedchannel_sync', create_at: Date.now(), payload } }),
    });
    expect(res.status).toBe(200);
    return res.body as { status: string; err: string; payload: Record<string, string[]> | null };
  }

  const post = (over: Record<string, unknown>) => ({
    id: newId(), create_at: Date.now(), update_at: Date.now(), edit_at: 0, delete_at: 0, is_pinned: false, user_id: bob.id,
    channel_id: channel, root_id: '', original_id: '', message: 'x', type: '', props: {}, hashtags: '', file_ids: [],
    pending_post_id: '', reply_count: 0, last_reply_at: 0, participants: null, ...over,
  });
  const user = (id: string, over: Record<string, unknown>) => ({
    id, username: `u${id.slice(0, 8)}`, nickname: '', email: 'x@example.com', create_at: Date.now(), update_at: Date.now(), delete_at: 0,
    auth_service: '', first_name: '', last_name: '', position: '', roles: 'system_user', locale: 'en', timezone: {}, disable_welcome_email: false, ...over,
  });

  it('an over-cap item from a peer is refused alone, and the rest of its message applied', async () => {
    const big = post({ props: { attachments: [{ text: 'x'.repeat(200_000) }] } });
    const fine = post({ message: 'next to an oversized one' });
    const [bigProps, bigTimezone, ok] = [newId(), newId(), newId()];
    const now = Date.now();
    const emojis = Array.from({ length: SYNC_MSG_CAPS.reactions + 1 }, (_, i) => `e${i}`);
    const res = await frameFromB({
      id: newId(),
      channel_id: channel,
      posts: [big, fine],
      users: {
        [bigProps]: user(bigProps, { props: { blob: 'y'.repeat(20_000) } }),
        [bigTimezone]: user(bigTimezone, { timezone: { manualTimezone: 'z'.repeat(2_000) } }),
        [ok]: user(ok, {}),
      },
      reactions: emojis.map((emoji_name) => ({ user_id: bob.id, post_id: alicePost, emoji_name, create_at: now, update_at: now, delete_at: 0, remote_id: null, channel_id: channel })),
      mention_transforms: Object.fromEntries(Array.from({ length: SYNC_MSG_CAPS.mention_transforms + 10 }, (_, i) => [`m${i}`, newId()])),
    });
    expect(res.status).toBe('OK');
    expect(res.payload!.post_errors).toEqual([big.id]);
    expect(new Set(res.payload!.user_errors)).toEqual(new Set([bigProps, bigTimezone]));
    expect(res.payload!.reaction_errors).toEqual([alicePost]);
    expect(await A.query('SELECT id FROM posts WHERE id = ANY($1)', [[big.id, fine.id]])).toEqual([{ id: fine.id }]);
    expect(await A.query('SELECT id FROM users WHERE id = ANY($1)', [[bigProps, bigTimezone, ok]])).toEqual([{ id: ok }]);
    const [{ n }] = await A.query<{ n: string }>('SELECT count(*) AS n FROM reactions WHERE post_id = $1 AND user_id = $2', [alicePost, bob.id]);
    expect(Number(n)).toBe(SYNC_MSG_CAPS.reactions);

    // The channel is not stalled: B's next post still reaches A.
    const next = await createPost(B, bob.token, channel, 'after the oversized frame');
    await eventually(async () => expect(await A.query('SELECT id FROM posts WHERE id = $1', [next.id])).toHaveLength(1), { timeoutMs: 20_000 });
  }, 60_000);

  it('an invitation carrying a value PostgreSQL cannot store is refused to the peer, not logged as our error (found by the fuzz suite)', async () => {
    const remoteId = fed.remoteIds[1];
    const bSide = await storedRemote(B, remoteId);
    const channelId = newId();
    const res = await http(A, 'POST', '/api/v4/remotecluster/msg', {
      headers: remoteHeaders(remoteId, bSide.remote_token),
      rawBody: JSON.stringify({
        remote_id: remoteId,
        msg: {
          id: newId(), topic: 'sharedchannel_invite', create_at: Date.now(),
          payload: { channel_id: channelId, team_id: '', read_only: false, name: `nul-${newId().slice(0, 6)}`, display_name: 'nul\u0000inside', header: '', purpose: '', type: 'O', creator_id: '', direct_participant_ids: null, direct_participants: null },
        },
      }),
    });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('FAIL');
    expect(res.body.err).toContain('cannot be stored');
    expect(await A.query('SELECT id FROM channels WHERE id = $1', [channelId])).toEqual([]);
  });

  it('a client cannot make a post or a profile larger than the caps, so none is ever too large for a peer', async () => {
    const tooBig = await http(A, 'POST', '/api/v4/posts', {
      token: alice.token,
      body: { channel_id: channel, message: 'x', props: { blob: 'p'.repeat(A.config.limits.postPropsMaxBytes) } },
    });
    expect(tooBig.status).toBe(400);
    expect(tooBig.body.id).toBe('model.post.is_valid.props.app_error');
    const patch = await http(A, 'PUT', `/api/v4/posts/${alicePost}/patch`, { token: alice.token, body: { props: { blob: 'p'.repeat(A.config.limits.postPropsMaxBytes) } } });
    expect(patch.status).toBe(400);
    for (const body of [
      { props: { blob: 'u'.repeat(A.config.limits.userPropsMaxBytes) } },
      { props: { nested: { not: 'a string' } } },
      { timezone: { manualTimezone: 't'.repeat(2_000) } },
    ]) {
      const res = await http(A, 'PUT', '/api/v4/users/me/patch', { token: alice.token, body });
      expect({ body: Object.keys(body), status: res.status }).toEqual({ body: Object.keys(body), status: 400 });
      expect(res.body.id).toBe('model.user.is_valid.props.app_error');
    }
    // Within the caps, fine.
    expect((await http(A, 'PUT', '/api/v4/users/me/patch', { token: alice.token, body: { props: { customStatus: '{"emoji":"x"}' } } })).status).toBe(200);
  });
});
