import type { SyncMsg, SyncResponse } from '../../src/modules/shared-channel/wire.types.js';
import { TOPIC_SYNC } from '../../src/modules/shared-channel/wire.types.js';
import { createChannel, createPost } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { converged, type Federation, memberOf, shareWith, startFederation } from '../support/federation.js';
import { http } from '../support/http.js';
import { metricValue } from '../support/remote-cluster.js';
import { knowRemoteUser, sendFrame } from '../support/shared-channel.js';
import { wrapTopic } from '../support/topics.js';

const has = (inst: { query: (sql: string, p: unknown[]) => Promise<unknown[]> }, sql: string, params: unknown[]) =>
  inst.query(sql, params).then((rows) => rows.length);

/**
 * Items that depend on another item (a reaction or acknowledgement on its post, a reply on its root) reach the
 * receiver whatever order the network or the receiver's refusals put them in: nothing is dropped because it
 * arrived early, and a cursor never passes an item the receiver did not take.
 */
describe('sync dependencies: nothing is dropped because it arrived early', () => {
  let fed: Federation;

  beforeAll(async () => {
    fed = await startFederation(2, { SYNC_POST_MAX_ATTEMPTS: '8' });
  }, 90_000);
  afterAll(() => fed?.destroy());

  it('a reaction and an acknowledgement on a post the receiver refuses at first arrive once the post does', async () => {
    const [A, B] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'refused-first');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice-rf', channel);
    await createPost(A.inst, alice.token, channel, 'warm-up');
    await converged([A.inst, B.inst], channel);

    // B refuses the post marked "refuse me" (as a receiver that cannot take it yet) until the test lets it in.
    let refusing = true;
    let refusals = 0;
    const restore = wrapTopic(B.inst, TOPIC_SYNC, (original) => async (remote, msg) => {
      const m = msg.payload as SyncMsg;
      const refused = refusing ? (m.posts ?? []).filter((p) => p.message === 'refuse me').map((p) => p.id) : [];
      if (!refused.length) return original(remote, msg);
      refusals++;
      const res = (await original(remote, { ...msg, payload: { ...m, posts: m.posts!.filter((p) => !refused.includes(p.id)) } })) as SyncResponse;
      return { ...res, post_errors: [...(res.post_errors ?? []), ...refused] };
    });
    try {
      const post = await createPost(A.inst, alice.token, channel, 'refuse me');
      await eventually(() => expect(refusals).toBeGreaterThanOrEqual(1), { timeoutMs: 10_000 });
      const reaction = await http(A.inst, 'POST', '/api/v4/reactions', { token: alice.token, body: { user_id: alice.id, post_id: post.id, emoji_name: 'eyes' } });
      const ack = await http(A.inst, 'POST', `/api/v4/users/${alice.id}/posts/${post.id}/ack`, { token: alice.token });
      expect([reaction.status, ack.status]).toEqual([200, 200]);
      // The post is refused again on its retry; the reaction and the acknowledgement had every chance to be sent.
      await eventually(() => expect(refusals).toBeGreaterThanOrEqual(2), { timeoutMs: 15_000 });
      refusing = false;
      const state = await converged([A.inst, B.inst], channel, 30_000);
      expect(state.reactions).toEqual([`${alice.id}:${post.id}:eyes`]);
      expect(state.acks).toEqual([`${alice.id}:${post.id}`]);
    } finally {
      restore();
    }
  }, 60_000);

  it('a reaction and an acknowledgement the receiver refuses because it lost their post bring the post back first', async () => {
    const [A, B] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'lost-post');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice-lp', channel);
    const post = await createPost(A.inst, alice.token, channel, 'B will lose this');
    await converged([A.inst, B.inst], channel);
    // B loses the post (an operator's mistake, a restored backup): A still believes B has it.
    await B.inst.query('DELETE FROM posts WHERE id = $1', [post.id]);

    await http(A.inst, 'POST', '/api/v4/reactions', { token: alice.token, body: { user_id: alice.id, post_id: post.id, emoji_name: 'tada' } });
    await http(A.inst, 'POST', `/api/v4/users/${alice.id}/posts/${post.id}/ack`, { token: alice.token });
    const state = await converged([A.inst, B.inst], channel, 30_000);
    expect(state.posts.map((p) => p.id)).toContain(post.id);
    expect(state.reactions).toEqual([`${alice.id}:${post.id}:tada`]);
    expect(state.acks).toEqual([`${alice.id}:${post.id}`]);
  }, 60_000);

  it('a reply whose root reaches the receiver later through the hub is taken without a refusal', async () => {
    const [A, B, C] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'late-root');
    await shareWith(fed, channel, 1);
    await shareWith(fed, channel, 2);
    const alice = await memberOf(A, 'alice-lr', channel);
    const bob = await memberOf(B, 'bob-lr', channel);
    await memberOf(C, 'carol-lr', channel);
    await createPost(A.inst, alice.token, channel, 'warm-up');
    await converged([A.inst, B.inst, C.inst], channel);
    const errorsBefore = await metricValue(C.inst, 'shared_channels_item_errors_total');

    // While C is away: B's root reaches A, A's user replies and reacts to the reply, then B edits the root. A's
    // change sequence now holds the reply before the (edited) root.
    await C.inst.stop();
    const root = await createPost(B.inst, bob.token, channel, 'root from B');
    await eventually(async () => expect(await has(A.inst, 'SELECT 1 FROM posts WHERE id = $1', [root.id])).toBe(1), { timeoutMs: 10_000 });
    const reply = await createPost(A.inst, alice.token, channel, 'reply on A', { root_id: root.id });
    await http(A.inst, 'POST', '/api/v4/reactions', { token: alice.token, body: { user_id: alice.id, post_id: reply.id, emoji_name: 'fire' } });
    await http(B.inst, 'PUT', `/api/v4/posts/${root.id}/patch`, { token: bob.token, body: { message: 'root from B, edited' } });
    await eventually(async () => {
      const [row] = await A.inst.query<{ message: string }>('SELECT message FROM posts WHERE id = $1', [root.id]);
      expect(row?.message).toBe('root from B, edited');
    }, { timeoutMs: 10_000 });
    await C.inst.start();

    const state = await converged([A.inst, B.inst, C.inst], channel, 30_000);
    expect(state.posts.find((p) => p.id === reply.id)).toMatchObject({ root_id: root.id });
    expect(state.reactions).toEqual([`${alice.id}:${reply.id}:fire`]);
    // C took the reply at once: it refused nothing, and A holds nothing back for it.
    expect(await metricValue(C.inst, 'shared_channels_item_errors_total')).toBe(errorsBefore);
    expect(await A.inst.query('SELECT 1 FROM sync_item_retries WHERE post_id = $1', [reply.id])).toHaveLength(0);
  }, 90_000);

  it('an OK reply without a payload is not taken as "everything accepted"', async () => {
    const [A, B] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'null-payload');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice-np', channel);
    const target = await createPost(A.inst, alice.token, channel, 'react here');
    await converged([A.inst, B.inst], channel);

    // B (a server of this project, which always answers a SyncResponse) answers OK with a null payload, without
    // storing anything, to the first two messages carrying posts, reactions or acknowledgements.
    let swallowed = 0;
    const restore = wrapTopic(B.inst, TOPIC_SYNC, (original) => async (remote, msg) => {
      const m = msg.payload as SyncMsg;
      if (swallowed < 2 && (m.posts?.length || m.reactions?.length || m.acknowledgements?.length)) {
        swallowed++;
        return undefined;
      }
      return original(remote, msg);
    });
    try {
      const post = await createPost(A.inst, alice.token, channel, 'swallowed once');
      await eventually(() => expect(swallowed).toBeGreaterThanOrEqual(1), { timeoutMs: 10_000 });
      await http(A.inst, 'POST', '/api/v4/reactions', { token: alice.token, body: { user_id: alice.id, post_id: target.id, emoji_name: 'ok' } });
      await http(A.inst, 'POST', `/api/v4/users/${alice.id}/posts/${target.id}/ack`, { token: alice.token });
      const state = await converged([A.inst, B.inst], channel, 30_000);
      expect(state.posts.map((p) => p.id)).toContain(post.id);
      expect(state.reactions).toEqual([`${alice.id}:${target.id}:ok`]);
      expect(state.acks).toEqual([`${alice.id}:${target.id}`]);
      expect(swallowed).toBe(2);
    } finally {
      restore();
    }
  }, 60_000);

  it("applies reactions and acknowledgements as state, never as Mattermost's toggles (12.8, 12.9)", async () => {
    const [A, B] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'no-toggles');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice-nt', channel);
    const post = await createPost(A.inst, alice.token, channel, 'state, not toggles');
    await converged([A.inst, B.inst], channel);
    await knowRemoteUser(B.inst, A.inst, fed.remoteIds[1], alice.id);
    const now = Date.now();
    const send = (content: Record<string, unknown>) => sendFrame(A.inst, B.inst, fed.remoteIds[1], TOPIC_SYNC, { id: 'y'.repeat(26), channel_id: channel, ...content });
    const reaction = (at: number, deleted: boolean) => ({
      user_id: alice.id, post_id: post.id, emoji_name: 'wave', create_at: now, update_at: at, delete_at: deleted ? at : 0, remote_id: null, channel_id: channel,
    });
    const active = async () => (await B.inst.query('SELECT 1 FROM reactions WHERE post_id = $1 AND delete_at = 0', [post.id])).length;
    const acked = async () => (await B.inst.query('SELECT 1 FROM post_acknowledgements WHERE post_id = $1 AND acknowledged_at > 0', [post.id])).length;

    // A removal of a reaction B never saw leaves none (Mattermost's receiver would create one).
    await send({ reactions: [reaction(now + 1, true)] });
    expect(await active()).toBe(0);
    // Added again later: there (Mattermost would delete the row it found instead).
    await send({ reactions: [reaction(now + 2, false)] });
    expect(await active()).toBe(1);
    // The same add twice, and an older removal arriving late, change nothing.
    await send({ reactions: [reaction(now + 2, false), reaction(now, true)] });
    expect(await active()).toBe(1);
    // An acknowledgement removal for one B never had creates none; an add, then the same add again, leaves one.
    await send({ acknowledgements: [{ user_id: alice.id, post_id: post.id, acknowledged_at: 0, channel_id: channel }] });
    expect(await acked()).toBe(0);
    await send({ acknowledgements: [{ user_id: alice.id, post_id: post.id, acknowledged_at: now, channel_id: channel }] });
    await send({ acknowledgements: [{ user_id: alice.id, post_id: post.id, acknowledged_at: now, channel_id: channel }] });
    expect(await acked()).toBe(1);
  });

  it("refuses content from a peer whose clock is a day ahead, item by item", async () => {
    const [A, B] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'future');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice-fu', channel);
    const existing = await createPost(A.inst, alice.token, channel, 'already there');
    await converged([A.inst, B.inst], channel);
    await knowRemoteUser(B.inst, A.inst, fed.remoteIds[1], alice.id);

    const now = Date.now();
    const day = 24 * 3600 * 1000;
    const wirePost = (id: string, at: number) => ({
      id, create_at: at, update_at: at, edit_at: 0, delete_at: 0, is_pinned: false, user_id: alice.id, channel_id: channel,
      root_id: '', original_id: '', message: `at ${at}`, type: '', props: {}, hashtags: '', file_ids: [], pending_post_id: '',
      reply_count: 0, last_reply_at: 0, participants: null,
    });
    const future = 'f'.repeat(25) + 'a';
    const present = 'p'.repeat(25) + 'a';
    const res = await sendFrame(A.inst, B.inst, fed.remoteIds[1], TOPIC_SYNC, {
      id: 'x'.repeat(26),
      channel_id: channel,
      posts: [wirePost(future, now + day), wirePost(present, now)],
      reactions: [{ user_id: alice.id, post_id: existing.id, emoji_name: 'clock1', create_at: now + day, update_at: now + day, delete_at: 0, remote_id: null, channel_id: channel }],
      acknowledgements: [{ user_id: alice.id, post_id: existing.id, acknowledged_at: now + day, channel_id: channel }],
    });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('OK');
    expect(res.body.payload.post_errors).toEqual([future]);
    expect(res.body.payload.reaction_errors).toEqual([existing.id]);
    expect(res.body.payload.acknowledgement_errors).toEqual([existing.id]);
    expect(await has(B.inst, 'SELECT 1 FROM posts WHERE id = $1', [future])).toBe(0);
    expect(await has(B.inst, 'SELECT 1 FROM posts WHERE id = $1', [present])).toBe(1);
    expect(await has(B.inst, 'SELECT 1 FROM reactions WHERE post_id = $1', [existing.id])).toBe(0);
    expect(await has(B.inst, 'SELECT 1 FROM post_acknowledgements WHERE post_id = $1', [existing.id])).toBe(0);
  });
});
