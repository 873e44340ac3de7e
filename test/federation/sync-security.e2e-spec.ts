import { newId } from '../../src/common/ids.js';
import { createChannel, createPost } from '../support/chat.js';
import { converged, type Federation, memberOf, shareWith, startFederation } from '../support/federation.js';
import { http } from '../support/http.js';
import { remoteHeaders, storedRemote } from '../support/remote-cluster.js';

/** Raw sharedchannel_sync frames from B to A, as a misbehaving or malicious peer would send them. */
describe('sync receiver: authorization first, nothing applied that the sender does not own', () => {
  let fed: Federation;
  let channel: string;
  let unshared: string;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  let alicePost: string;

  beforeAll(async () => {
    fed = await startFederation(1);
    const [A, B] = fed.sides;
    channel = await createChannel(A.inst, A.token, A.teamId, 'guarded');
    unshared = await createChannel(A.inst, A.token, A.teamId, 'not-shared');
    await shareWith(fed, channel, 1);
    alice = await memberOf(A, 'alice', channel);
    bob = await memberOf(B, 'bob', channel);
    alicePost = (await createPost(A.inst, alice.token, channel, 'alice speaks')).id;
    await createPost(B.inst, bob.token, channel, 'bob speaks');
    await converged([A.inst, B.inst], channel);
  }, 60_000);
  afterAll(() => fed?.destroy());

  async function frameFromB(payload: Record<string, unknown>) {
    const [A, B] = fed.sides;
    const remoteId = fed.remoteIds[1];
    const bSide = await storedRemote(B.inst, remoteId);
    const res = await http(A.inst, 'POST', '/api/v4/remotecluster/msg', {
      headers: remoteHeaders(remoteId, bSide.remote_token),
      rawBody: JSON.stringify({ remote_id: remoteId, msg: { id: newId(), topic: 'sharedchannel_sync', create_at: Date.now(), payload } }),
    });
    expect(res.status).toBe(200);
    return res.body as { status: string; err: string; payload: Record<string, string[]> | null };
  }

  async function snapshot() {
    const [A] = fed.sides;
    return {
      posts: await A.inst.query('SELECT id, message, delete_at, edit_at FROM posts ORDER BY id'),
      reactions: await A.inst.query('SELECT * FROM reactions ORDER BY post_id, user_id, emoji_name'),
      acks: await A.inst.query('SELECT * FROM post_acknowledgements ORDER BY post_id, user_id'),
      statuses: await A.inst.query('SELECT * FROM statuses ORDER BY user_id'),
      users: await A.inst.query('SELECT id, username, nickname, remote_id FROM users ORDER BY id'),
    };
  }

  const post = (over: Record<string, unknown>) => ({
    id: newId(), create_at: Date.now(), update_at: Date.now(), edit_at: 0, delete_at: 0, is_pinned: false, user_id: bob.id,
    channel_id: channel, root_id: '', original_id: '', message: 'x', type: '', props: {}, hashtags: '', file_ids: [],
    pending_post_id: '', reply_count: 0, last_reply_at: 0, participants: null, ...over,
  });

  it('refuses a channel not shared with the sender', async () => {
    const before = await snapshot();
    const res = await frameFromB({ id: newId(), channel_id: unshared, posts: [post({ channel_id: unshared })] });
    expect(res.status).toBe('FAIL');
    expect(res.err).toContain('channel is no longer shared');
    expect(await snapshot()).toEqual(before);
  });

  it('refuses posts as A\'s local user, and edits or deletes of A\'s post', async () => {
    const before = await snapshot();
    const asAlice = post({ user_id: alice.id, message: 'I am alice, honest' });
    const [A] = fed.sides;
    const [orig] = await A.inst.query<{ create_at: string; update_at: string }>('SELECT create_at, update_at FROM posts WHERE id = $1', [alicePost]);
    const edit = post({ id: alicePost, user_id: alice.id, message: 'hijacked', create_at: Number(orig.create_at), update_at: Date.now() + 1000, edit_at: Date.now() });
    const editAsBob = post({ id: alicePost, user_id: bob.id, message: 'hijacked by bob', create_at: Number(orig.create_at), update_at: Date.now() + 1000 });
    const del = post({ id: alicePost, user_id: alice.id, message: 'alice speaks', create_at: Number(orig.create_at), update_at: Date.now() + 1000, delete_at: Date.now() });
    const res = await frameFromB({ id: newId(), channel_id: channel, posts: [asAlice, edit, editAsBob, del] });
    expect(res.status).toBe('OK');
    expect(new Set(res.payload!.post_errors)).toEqual(new Set([asAlice.id, alicePost]));
    expect(await snapshot()).toEqual(before);
  });

  it('refuses reactions, acknowledgements and statuses as A\'s user, and user records it does not own', async () => {
    const before = await snapshot();
    const now = Date.now();
    const res = await frameFromB({
      id: newId(),
      channel_id: channel,
      reactions: [{ user_id: alice.id, post_id: alicePost, emoji_name: 'smile', create_at: now, update_at: now, delete_at: 0, remote_id: null, channel_id: channel }],
      acknowledgements: [{ user_id: alice.id, post_id: alicePost, acknowledged_at: now, channel_id: channel }],
      statuses: [{ user_id: alice.id, status: 'dnd', manual: true, last_activity_at: now, dnd_end_time: 0 }],
      users: { [alice.id]: { id: alice.id, username: 'alice', nickname: 'pwned', email: 'x@y.z', create_at: now, update_at: now, delete_at: 0,
        auth_service: '', first_name: '', last_name: '', position: '', roles: 'system_admin', locale: 'en', timezone: {}, disable_welcome_email: false } },
    });
    expect(res.status).toBe('OK');
    expect(res.payload!.reaction_errors).toEqual([alicePost]);
    expect(res.payload!.acknowledgement_errors).toEqual([alicePost]);
    expect(res.payload!.status_errors).toEqual([alice.id]);
    expect(res.payload!.user_errors).toEqual([alice.id]);
    expect(await snapshot()).toEqual(before);
  });

  it('answers garbage payloads with FAIL and applies nothing', async () => {
    const before = await snapshot();
    for (const payload of [{ channel_id: 42 }, { channel_id: channel, posts: 'nope' }, { channel_id: channel, users: [] }, { channel_id: '', posts: [post({})] }]) {
      const res = await frameFromB(payload);
      expect(res.status).toBe('FAIL');
    }
    const res = await frameFromB({ id: newId(), channel_id: channel, posts: [{ id: 'bad' }, post({ message: 123 })] });
    expect(res.status).toBe('OK');
    expect(res.payload!.post_errors).toHaveLength(2);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses an item carrying a NUL character (PostgreSQL cannot store it) alone, and applies the rest', async () => {
    const [A] = fed.sides;
    const nulMessage = post({ message: 'nul\u0000inside' });
    const nulProps = post({ props: { attachments: [{ text: 'ok', nested: { 'k\u0000': 'v' } }] } });
    const fine = post({ message: 'an ordinary post next to them' });
    const nulUser = newId();
    const now = Date.now();
    const res = await frameFromB({
      id: newId(),
      channel_id: channel,
      posts: [nulMessage, nulProps, fine],
      reactions: [{ user_id: bob.id, post_id: alicePost, emoji_name: 'x\u0000', create_at: now, update_at: now, delete_at: 0, remote_id: null, channel_id: channel }],
      users: { [nulUser]: { id: nulUser, username: 'carol', nickname: 'nul\u0000nick', email: 'c@example.com', create_at: now, update_at: now, delete_at: 0,
        auth_service: '', first_name: '', last_name: '', position: '', roles: 'system_user', locale: 'en', timezone: {}, disable_welcome_email: false } },
    });
    expect(res.status).toBe('OK');
    expect(new Set(res.payload!.post_errors)).toEqual(new Set([nulMessage.id, nulProps.id]));
    expect(res.payload!.reaction_errors).toEqual([alicePost]);
    expect(res.payload!.user_errors).toEqual([nulUser]);
    expect(await A.inst.query('SELECT id FROM users WHERE id = $1', [nulUser])).toEqual([]);
    expect(await A.inst.query('SELECT id FROM posts WHERE id = ANY($1) ORDER BY id', [[nulMessage.id, nulProps.id, fine.id]])).toEqual([{ id: fine.id }]);
  });
});
