import { createChannel, createPost } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { channelState, converged, type Federation, memberOf, shareWith, startFederation } from '../support/federation.js';
import { http } from '../support/http.js';
import { metricValue } from '../support/remote-cluster.js';

describe('sync between two servers: everything made on either side reaches the other', () => {
  let fed: Federation;

  beforeAll(async () => {
    fed = await startFederation(1);
  }, 60_000);
  afterAll(() => fed?.destroy());

  it('posts, replies, edits, deletes, reactions (add, remove, re-add), acknowledgements and statuses converge', async () => {
    const [A, B] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'sync-town');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice', channel);
    const bob = await memberOf(B, 'bob', channel);

    const root = await createPost(A.inst, alice.token, channel, 'hello from A');
    await eventually(async () => expect(await B.inst.query('SELECT id FROM posts WHERE id = $1', [root.id])).toHaveLength(1));
    const reply = await createPost(B.inst, bob.token, channel, 'hello back from B', { root_id: root.id });
    const other = await createPost(A.inst, alice.token, channel, 'to be deleted');
    const fromB = await createPost(B.inst, bob.token, channel, 'B edits this');
    await converged([A.inst, B.inst], channel);

    const edits = [
      http(A.inst, 'PUT', `/api/v4/posts/${root.id}/patch`, { token: alice.token, body: { message: 'hello from A (edited)' } }),
      http(B.inst, 'PUT', `/api/v4/posts/${fromB.id}/patch`, { token: bob.token, body: { message: 'B edited this' } }),
      http(A.inst, 'DELETE', `/api/v4/posts/${other.id}`, { token: alice.token }),
      http(A.inst, 'POST', '/api/v4/reactions', { token: alice.token, body: { user_id: alice.id, post_id: reply.id, emoji_name: 'wave' } }),
      http(B.inst, 'POST', '/api/v4/reactions', { token: bob.token, body: { user_id: bob.id, post_id: root.id, emoji_name: '+1' } }),
      http(B.inst, 'POST', `/api/v4/users/${bob.id}/posts/${root.id}/ack`, { token: bob.token }),
      http(B.inst, 'PUT', `/api/v4/users/${bob.id}/status`, { token: bob.token, body: { user_id: bob.id, status: 'dnd', dnd_end_time: 1900000000 } }),
      http(A.inst, 'PUT', `/api/v4/users/${alice.id}/status`, { token: alice.token, body: { user_id: alice.id, status: 'away' } }),
    ];
    for (const res of await Promise.all(edits)) expect(res.status).toBeLessThan(300);
    let state = await converged([A.inst, B.inst], channel);
    expect(state.posts.find((p) => p.id === root.id)).toMatchObject({ message: 'hello from A (edited)', edited: true });
    expect(state.posts.find((p) => p.id === fromB.id)).toMatchObject({ message: 'B edited this', edited: true });
    expect(state.posts.find((p) => p.id === other.id)).toMatchObject({ deleted: true });
    expect(state.posts.find((p) => p.id === reply.id)).toMatchObject({ root_id: root.id, user_id: bob.id });
    expect(state.reactions).toEqual([`${alice.id}:${reply.id}:wave`, `${bob.id}:${root.id}:+1`].sort());
    expect(state.acks).toEqual([`${bob.id}:${root.id}`]);

    // Remove and re-add: state, not toggles, so both sides end with the reaction present.
    await http(B.inst, 'DELETE', `/api/v4/users/${bob.id}/posts/${root.id}/reactions/+1`, { token: bob.token });
    state = await converged([A.inst, B.inst], channel);
    expect(state.reactions).toEqual([`${alice.id}:${reply.id}:wave`]);
    await http(B.inst, 'POST', '/api/v4/reactions', { token: bob.token, body: { user_id: bob.id, post_id: root.id, emoji_name: '+1' } });
    await http(B.inst, 'DELETE', `/api/v4/users/${bob.id}/posts/${root.id}/ack`, { token: bob.token });
    state = await converged([A.inst, B.inst], channel);
    expect(state.reactions).toEqual([`${alice.id}:${reply.id}:wave`, `${bob.id}:${root.id}:+1`].sort());
    expect(state.acks).toEqual([]);

    // Statuses of each side's own users reached the other.
    await eventually(async () => {
      expect((await http(A.inst, 'GET', `/api/v4/users/${bob.id}/status`, { token: A.token })).body).toMatchObject({ status: 'dnd', dnd_end_time: 1900000000 });
      expect((await http(B.inst, 'GET', `/api/v4/users/${alice.id}/status`, { token: B.token })).body).toMatchObject({ status: 'away' });
    });

    // The other side's users are synthetic: munged usernames, no password, placeholder email, owned by the sender.
    const [bobOnA] = await A.inst.query<{ username: string; password: string; email: string; remote_id: string }>(
      'SELECT username, password, email, remote_id FROM users WHERE id = $1',
      [bob.id],
    );
    expect(bobOnA).toMatchObject({ username: 'bob:to-b', password: '', remote_id: fed.remoteIds[1] });
    expect(bobOnA.email).toMatch(/^[0-9a-f-]{36}@remote\.invalid$/);
  });

  it('applying the same message twice changes nothing (receiver idempotence)', async () => {
    const [A, B] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'idempotent');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice2', channel);
    await createPost(A.inst, alice.token, channel, 'once');
    const before = await converged([A.inst, B.inst], channel);
    const [{ count: eventsBefore }] = await B.inst.query<{ count: string }>('SELECT count(*) FROM change_events WHERE channel_id = $1', [channel]);
    // Rewind B's view of A's cursor: the next pass resends everything.
    await A.inst.query('UPDATE shared_channel_remotes SET last_post_seq = 0, last_post_seq_id = \'\' WHERE channel_id = $1', [channel]);
    await createPost(A.inst, alice.token, channel, 'twice');
    const after = await converged([A.inst, B.inst], channel);
    expect(after.posts.map((p) => p.message)).toEqual([...before.posts.map((p) => p.message), 'twice']);
    const [{ count: eventsAfter }] = await B.inst.query<{ count: string }>('SELECT count(*) FROM change_events WHERE channel_id = $1', [channel]);
    expect(Number(eventsAfter) - Number(eventsBefore)).toBe(1);
    expect(await metricValue(B.inst, 'shared_channels_sync_lag_seconds_count')).toBeGreaterThan(0);
    expect((await channelState(B.inst, channel)).posts).toHaveLength(2);
    // The channel's counters count each post once, however often it arrived (B's own notices included).
    const [counters] = await B.inst.query<{ total_msg_count: string; last_post_at: string }>(
      'SELECT total_msg_count::text, last_post_at::text FROM channels WHERE id = $1',
      [channel],
    );
    const [live] = await B.inst.query<{ n: string; last: string }>(
      'SELECT count(*)::text AS n, max(create_at)::text AS last FROM posts WHERE channel_id = $1 AND delete_at = 0',
      [channel],
    );
    expect(counters).toEqual({ total_msg_count: live.n, last_post_at: live.last });
  });
});
