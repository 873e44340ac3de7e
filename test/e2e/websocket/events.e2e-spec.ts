import { addToChannel, addToTeam, createChannel, createPost, createTeam, createUser, type TestUser } from '../../support/chat.js';
import { http, login } from '../../support/http.js';
import { startInstance, type Instance } from '../../support/instance.js';
import { postOf, WsSession } from '../../support/websocket.js';

/** Acceptance 1: Mattermost's own WebSocketClient sees the events of its channels, and only those. */
describe('WebSocket events through @mattermost/client', () => {
  let a: Instance;
  let admin: string;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let team: string;
  let channel: string;
  let secret: string;
  let aliceWs: WsSession;
  let bobWs: WsSession;

  beforeAll(async () => {
    a = await startInstance('A');
    admin = await login(a);
    [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((u) => createUser(a, admin, u)));
    team = await createTeam(a, admin, 'ws-team');
    for (const u of [alice, bob, carol]) await addToTeam(a, admin, team, u.id);
    channel = await createChannel(a, admin, team, 'ws-town');
    for (const u of [alice, bob]) await addToChannel(a, admin, channel, u.id);
    // A private channel alice is not in, on the same team.
    secret = await createChannel(a, carol.token, team, 'ws-secret', 'P');
    aliceWs = new WsSession(a, alice.token);
    bobWs = new WsSession(a, bob.token);
    await Promise.all([aliceWs.open(), bobWs.open()]);
  });
  afterAll(async () => {
    aliceWs?.close();
    bobWs?.close();
    await a?.destroy();
  });

  it('starts with hello: seq 0, a connection id and the server version', () => {
    const hello = aliceWs.events[0];
    expect(hello).toMatchObject({ event: 'hello', seq: 0, broadcast: { user_id: alice.id, channel_id: '', team_id: '', omit_users: null } });
    expect((hello.data as { connection_id: string }).connection_id).toMatch(/^[a-z0-9]{26}$/);
    expect((hello.data as { server_version: string }).server_version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('posted, post_edited, post_deleted, reaction_added/removed and typing for a channel alice is in; nothing from a private channel she is not in', async () => {
    const from = aliceWs.events.length;
    // Carol's private channel first: if it leaked, it would arrive before everything that follows.
    await createPost(a, carol.token, secret, 'not for alice');
    const post = await createPost(a, bob.token, channel, 'hello @alice and @carol');

    const posted = await aliceWs.next('posted', (m) => postOf(m).id === post.id, 10_000, from);
    expect(posted.broadcast).toEqual({ omit_users: null, user_id: '', channel_id: channel, team_id: '', connection_id: '', omit_connection_id: '' });
    expect(posted.data).toMatchObject({
      channel_display_name: 'ws-town',
      channel_name: 'ws-town',
      channel_type: 'O',
      sender_name: '@bob',
      team_id: team,
      set_online: true,
      mentions: JSON.stringify([alice.id]),
    });
    expect(postOf(posted)).toMatchObject({ id: post.id, channel_id: channel, user_id: bob.id, message: 'hello @alice and @carol' });
    // Bob is not mentioned: no mentions field, and nobody learns who else was.
    const bobPosted = await bobWs.next('posted', (m) => postOf(m).id === post.id);
    expect(bobPosted.data).not.toHaveProperty('mentions');

    await http(a, 'PUT', `/api/v4/posts/${post.id}/patch`, { token: bob.token, body: { message: 'edited' } });
    expect(postOf(await aliceWs.next('post_edited', (m) => postOf(m).id === post.id, 10_000, from)).message).toBe('edited');

    await http(a, 'POST', '/api/v4/reactions', { token: bob.token, body: { user_id: bob.id, post_id: post.id, emoji_name: 'tada' } });
    const added = await aliceWs.next('reaction_added', () => true, 10_000, from);
    expect(JSON.parse((added.data as { reaction: string }).reaction)).toMatchObject({ user_id: bob.id, post_id: post.id, emoji_name: 'tada', delete_at: 0, channel_id: channel });
    await http(a, 'DELETE', `/api/v4/users/${bob.id}/posts/${post.id}/reactions/tada`, { token: bob.token });
    const removed = await aliceWs.next('reaction_removed', () => true, 10_000, from);
    expect(JSON.parse((removed.data as { reaction: string }).reaction)).toMatchObject({ user_id: bob.id, post_id: post.id, emoji_name: 'tada' });
    expect(JSON.parse((removed.data as { reaction: string }).reaction).delete_at).toBeGreaterThan(0);

    await http(a, 'POST', `/api/v4/users/${bob.id}/posts/${post.id}/ack`, { token: bob.token });
    const ack = await aliceWs.next('post_acknowledgement_added', () => true, 10_000, from);
    expect(JSON.parse((ack.data as { acknowledgement: string }).acknowledgement)).toMatchObject({ user_id: bob.id, post_id: post.id, channel_id: channel });

    const typed = await bobWs.request('user_typing', { channel_id: channel, parent_id: '' });
    expect(typed).toMatchObject({ status: 'OK' });
    const typing = await aliceWs.next('typing', () => true, 10_000, from);
    expect(typing.data).toEqual({ parent_id: '', user_id: bob.id });
    expect(typing.broadcast).toMatchObject({ channel_id: channel, omit_users: { [bob.id]: true } });

    await http(a, 'DELETE', `/api/v4/posts/${post.id}`, { token: bob.token });
    const deleted = await aliceWs.next('post_deleted', (m) => postOf(m).id === post.id, 10_000, from);
    expect(postOf(deleted).delete_at).toBeGreaterThan(0);

    // Every event of the private channel was published before the public ones; none reached alice.
    const leaked = aliceWs.events.slice(from).filter((e) => JSON.stringify(e).includes(secret));
    expect(leaked).toEqual([]);
    // Bob does not hear his own typing; the sequence numbers alice saw have no holes.
    expect(bobWs.named('typing')).toEqual([]);
    expect(aliceWs.events.map((e) => e.seq)).toEqual(aliceWs.events.map((_, i) => i));
  });

  it('membership, channel and team events reach the users Mattermost sends them to', async () => {
    const [aliceFrom, bobFrom] = [aliceWs.events.length, bobWs.events.length];
    // Bob creates a channel: channel_created goes to him alone.
    const created = (await http<{ id: string }>(a, 'POST', '/api/v4/channels', { token: bob.token, body: { team_id: team, name: 'bobs', display_name: 'Bobs', type: 'O' } })).body.id;
    expect((await bobWs.next('channel_created', () => true, 10_000, bobFrom)).data).toEqual({ channel_id: created, team_id: team });

    await addToChannel(a, bob.token, created, alice.id);
    expect((await aliceWs.next('user_added', (m) => m.broadcast.channel_id === created, 10_000, aliceFrom)).data).toEqual({ user_id: alice.id, team_id: team });

    await http(a, 'PUT', `/api/v4/channels/${created}/patch`, { token: bob.token, body: { header: 'new header' } });
    const updated = await aliceWs.next('channel_updated', () => true, 10_000, aliceFrom);
    expect(JSON.parse((updated.data as { channel: string }).channel)).toMatchObject({ id: created, header: 'new header' });

    // Removed: the channel hears who left, the user hears from which channel.
    await http(a, 'DELETE', `/api/v4/channels/${created}/members/${alice.id}`, { token: bob.token });
    expect((await aliceWs.next('user_removed', () => true, 10_000, aliceFrom)).data).toEqual({ channel_id: created, remover_id: bob.id });
    expect((await bobWs.next('user_removed', (m) => m.broadcast.channel_id === created, 10_000, bobFrom)).data).toEqual({ user_id: alice.id, remover_id: bob.id });

    // A public channel's archiving goes to its team.
    await http(a, 'DELETE', `/api/v4/channels/${created}`, { token: bob.token });
    const gone = await aliceWs.next('channel_deleted', () => true, 10_000, aliceFrom);
    expect(gone.data).toMatchObject({ channel_id: created });
    expect(gone.broadcast.team_id).toBe(team);

    // Status: only the user's own connections.
    await http(a, 'PUT', `/api/v4/users/${bob.id}/status`, { token: bob.token, body: { user_id: bob.id, status: 'dnd' } });
    expect((await bobWs.next('status_change', () => true, 10_000, bobFrom)).data).toEqual({ status: 'dnd', user_id: bob.id });

    // A profile change: everyone else gets the public profile, the user the full one.
    await http(a, 'PUT', `/api/v4/users/${bob.id}/patch`, { token: bob.token, body: { nickname: 'Bobby' } });
    const seenByAlice = await aliceWs.next('user_updated', () => true, 10_000, aliceFrom);
    expect((seenByAlice.data as { user: Record<string, unknown> }).user).toMatchObject({ id: bob.id, nickname: 'Bobby' });
    expect((seenByAlice.data as { user: Record<string, unknown> }).user).not.toHaveProperty('notify_props');
    const seenByBob = await bobWs.next('user_updated', () => true, 10_000, bobFrom);
    expect((seenByBob.data as { user: Record<string, unknown> }).user).toHaveProperty('notify_props');

    // Nothing about status or another user's private profile copy reached alice.
    expect(aliceWs.events.slice(aliceFrom).filter((e) => e.event === 'status_change')).toEqual([]);
    expect(aliceWs.events.slice(aliceFrom).filter((e) => e.event === 'user_updated')).toHaveLength(1);
  });

  it('team joins go to the user, a departure to the team and to the user', async () => {
    const dave = await createUser(a, admin, 'dave');
    const daveWs = new WsSession(a, dave.token);
    await daveWs.open();
    try {
      const aliceFrom = aliceWs.events.length;
      await addToTeam(a, admin, team, dave.id);
      expect((await daveWs.next('added_to_team')).data).toEqual({ team_id: team, user_id: dave.id });
      await http(a, 'DELETE', `/api/v4/teams/${team}/members/${dave.id}`, { token: admin });
      expect((await daveWs.next('leave_team')).data).toEqual({ user_id: dave.id, team_id: team });
      expect((await aliceWs.next('leave_team', () => true, 10_000, aliceFrom)).broadcast.team_id).toBe(team);
      expect(aliceWs.events.slice(aliceFrom).filter((e) => e.event === 'added_to_team')).toEqual([]);
    } finally {
      daveWs.close();
    }
  });

  it('answers actions with seq_reply: ping, statuses, and errors for bad input', async () => {
    const pong = await aliceWs.request('ping', null);
    expect(pong).toMatchObject({ status: 'OK', data: { text: 'pong' } });
    expect(pong.seq_reply).toBeGreaterThan(0);

    const statuses = await aliceWs.request('get_statuses_by_ids', { user_ids: [bob.id, alice.id] });
    expect(statuses).toMatchObject({ status: 'OK', data: { [bob.id]: 'dnd', [alice.id]: 'offline' } });

    const typingElsewhere = await aliceWs.request('user_typing', { channel_id: secret });
    expect(typingElsewhere).toMatchObject({ status: 'FAIL', error: { id: 'api.websocket_handler.invalid_param.app_error', status_code: 400 } });
    const badId = await aliceWs.request('user_typing', { channel_id: 'nope' });
    expect(badId.error).toMatchObject({ status_code: 400 });
    const unknown = await aliceWs.request('no_such_action', {});
    expect(unknown).toMatchObject({ status: 'FAIL', error: { id: 'api.web_socket_router.bad_action.app_error', status_code: 400 } });
  });
});
