import { createChannel, createPost, createUser } from '../support/chat.js';
import { FAST_FEDERATION_ENV, type Federation, memberOf, shareWith, startFederation } from '../support/federation.js';
import { http } from '../support/http.js';
import { startInstance, type Instance } from '../support/instance.js';
import { postOf, WsSession } from '../support/websocket.js';

/**
 * Acceptance 3: what sync brings to B raises the same events as what is made on B. A user connected to B (or to a
 * second replica of B) sees A's post live, and the remote user that membership sync adds.
 */
describe('WebSocket events for federated content', () => {
  let fed: Federation;
  let b2: Instance;
  let channel: string;
  const sessions: WsSession[] = [];

  const session = async (inst: Instance, token: string) => {
    const s = new WsSession(inst, token);
    sessions.push(s);
    await s.open();
    return s;
  };

  beforeAll(async () => {
    fed = await startFederation(1);
    const b = fed.sides[1].inst;
    b2 = await startInstance('B2', { ...FAST_FEDERATION_ENV, DATABASE_URL: b.config.database.url, QUEUE_PREFIX: b.queuePrefix, FILES_DIR: b.config.files.dir });
  }, 60_000);
  afterAll(async () => {
    for (const s of sessions) s.close();
    await b2?.stop();
    await fed?.destroy();
  });

  it('the inviting admin hears the outcome (ephemeral_message) and the channel hears its remotes changed', async () => {
    const [A] = fed.sides;
    channel = await createChannel(A.inst, A.token, A.teamId, 'ws-shared');
    const adminWs = await session(A.inst, A.token);
    await shareWith(fed, channel, 1);
    const ephemeral = await adminWs.next('ephemeral_message');
    expect(postOf(ephemeral)).toMatchObject({ channel_id: channel, type: 'system_ephemeral', message: expect.stringMatching(/^`.+` has been added to channel\.$/) });
    expect(ephemeral.broadcast).toMatchObject({ user_id: (await http<{ id: string }>(A.inst, 'GET', '/api/v4/users/me', { token: A.token })).body.id, channel_id: channel });
    expect((await adminWs.next('shared_channel_remote_updated')).data).toEqual({ channel_id: channel });
  });

  it('a user on B, on either replica, receives posted for a post made on A', async () => {
    const [A, B] = fed.sides;
    const alice = await memberOf(A, 'alice', channel);
    const bella = await memberOf(B, 'bella', channel);
    const [onB, onB2] = await Promise.all([session(B.inst, bella.token), session(b2, bella.token)]);

    const post = await createPost(A.inst, alice.token, channel, 'from A to whoever is on B');
    for (const s of [onB, onB2]) {
      const posted = await s.next('posted', (m) => postOf(m).id === post.id, 20_000);
      expect(postOf(posted)).toMatchObject({ id: post.id, channel_id: channel, user_id: alice.id, message: 'from A to whoever is on B' });
      expect(posted.broadcast.channel_id).toBe(channel);
    }
    // An edit and a reaction synced from A arrive the same way.
    await http(A.inst, 'PUT', `/api/v4/posts/${post.id}/patch`, { token: alice.token, body: { message: 'edited on A' } });
    await http(A.inst, 'POST', '/api/v4/reactions', { token: alice.token, body: { user_id: alice.id, post_id: post.id, emoji_name: 'wave' } });
    expect(postOf(await onB.next('post_edited', (m) => postOf(m).id === post.id, 20_000)).message).toBe('edited on A');
    const reaction = (await onB.next('reaction_added', () => true, 20_000)).data as { reaction: string };
    expect(JSON.parse(reaction.reaction)).toMatchObject({ user_id: alice.id, emoji_name: 'wave' });
    // Exactly once on each replica.
    const marker = await createPost(A.inst, alice.token, channel, 'marker');
    for (const s of [onB, onB2]) {
      await s.next('posted', (m) => postOf(m).id === marker.id, 20_000);
      expect(s.named('posted').map((m) => postOf(m).id)).toEqual([post.id, marker.id]);
    }
  });

  it('user_added on B when membership sync adds a user of A', async () => {
    const [A, B] = fed.sides;
    const bWs = sessions.find((s) => s.inst === B.inst)!;
    const from = bWs.events.length;
    const andy = await createUser(A.inst, A.token, 'andy');
    await http(A.inst, 'POST', `/api/v4/teams/${A.teamId}/members`, { token: A.token, body: { team_id: A.teamId, user_id: andy.id } });
    await http(A.inst, 'POST', `/api/v4/channels/${channel}/members`, { token: A.token, body: { user_id: andy.id } });
    const added = await bWs.next('user_added', (m) => (m.data as { user_id: string }).user_id === andy.id, 20_000, from);
    expect(added.broadcast.channel_id).toBe(channel);
    expect((added.data as { team_id: string }).team_id).toBe(fed.sides[1].teamId);
  });

  it('user_updated on B when sync brings a changed profile of a user of A', async () => {
    const [A, B] = fed.sides;
    const bWs = sessions.find((s) => s.inst === B.inst)!;
    const from = bWs.events.length;
    const alice = (await http<Array<{ id: string }>>(A.inst, 'POST', '/api/v4/users/usernames', { token: A.token, body: ['alice'] })).body[0];
    await http(A.inst, 'PUT', `/api/v4/users/${alice.id}/patch`, { token: A.token, body: { nickname: 'Ally' } });
    const updated = await bWs.next('user_updated', (m) => (m.data as { user: { id: string } }).user.id === alice.id, 20_000, from);
    expect((updated.data as { user: Record<string, unknown> }).user).toMatchObject({ id: alice.id, nickname: 'Ally', remote_id: fed.remoteIds[1] });
  });

  it('system admins hear a secure connection go offline and come back; other users do not', async () => {
    const [A, B] = fed.sides;
    const adminWs = sessions.find((s) => s.inst === A.inst && s.token === A.token)!;
    const aUser = await session(A.inst, (await createUser(A.inst, A.token, 'plain')).token);
    await B.inst.stop();
    await b2.stop();
    const offline = await adminWs.next('remote_cluster_status_changed', (m) => (m.data as { online: boolean }).online === false, 20_000);
    expect(offline.data).toEqual({ remote_id: fed.remoteIds[1], online: false });
    expect(offline.broadcast).toMatchObject({ contains_sensitive_data: true });
    await B.inst.start();
    await adminWs.next('remote_cluster_status_changed', (m) => (m.data as { online: boolean }).online === true, 20_000);
    // Both sockets are on A and get A's events in one order: had the plain user been sent them, they would be here.
    expect(aUser.named('remote_cluster_status_changed')).toEqual([]);
  });
});
