import { Client4 } from '@mattermost/client';
import { directChannelName, groupChannelName } from '../../src/modules/chat/channels/channels.service.js';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { SHARED_CHANNEL_EVENT, type SharedChannelEvent } from '../../src/modules/shared-channel/shared-channel-events.service.js';
import { SharedChannelService } from '../../src/modules/shared-channel/shared-channel.service.js';
import { addToChannel, addToTeam, createChannel, createUser, type TestUser } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { http } from '../support/http.js';
import type { Instance } from '../support/instance.js';
import {
  channelRow,
  knowRemoteUser,
  remoteRow,
  shareRow,
  startSharedPair,
  systemPosts,
  waitOnline,
  type SharedPair,
} from '../support/shared-channel.js';
import { shapeDiff } from '../support/wire-shape.js';

/**
 * Sharing channels between two real servers (protocol section 4): public and private channels, DMs and GMs,
 * read-only shares, and invites and uninvites that wait for an offline remote.
 */
describe('shared channels between two servers', () => {
  let p: SharedPair;
  let a: Instance;
  let b: Instance;
  let client: Client4;
  let alice: TestUser;
  let bob: TestUser;
  const events: Record<'A' | 'B', SharedChannelEvent[]> = { A: [], B: [] };

  const invite = (channelId: string, query = '') =>
    http(a, 'POST', `/api/v4/remotecluster/${p.remoteId}/channels/${channelId}/invite${query}`, { token: p.adminA.token });

  /** Waits until B holds the channel shared from A, and returns B's channel row. */
  async function sharedOnB(channelId: string): Promise<Record<string, any>> {
    return eventually(async () => {
      const channel = await channelRow(b, channelId);
      expect(channel?.shared).toBe(true);
      expect(await shareRow(b, channelId)).toMatchObject({ home: false, remote_id: p.remoteId });
      return channel!;
    });
  }

  async function unsharedOnB(channelId: string): Promise<void> {
    await eventually(async () => {
      expect((await channelRow(b, channelId))?.shared).toBe(false);
      expect(await shareRow(b, channelId)).toBeUndefined();
      expect(Number((await remoteRow(b, channelId, p.remoteId))?.delete_at)).toBeGreaterThan(0);
    });
  }

  beforeAll(async () => {
    p = await startSharedPair();
    ({ a, b } = p);
    a.app!.get(EventEmitter2).on(SHARED_CHANNEL_EVENT, (e: SharedChannelEvent) => void events.A.push(e));
    b.app!.get(EventEmitter2).on(SHARED_CHANNEL_EVENT, (e: SharedChannelEvent) => void events.B.push(e));
    client = new Client4();
    client.setUrl(a.url);
    client.setToken(p.adminA.token);
    alice = await createUser(a, p.adminA.token, 'alice');
    bob = await createUser(b, p.adminB.token, 'bob');
    await addToTeam(a, p.adminA.token, p.adminA.teamId, alice.id);
    await addToTeam(b, p.adminB.token, p.adminB.teamId, bob.id);
  });
  afterAll(() => Promise.all([p?.a.destroy(), p?.b.destroy()]));

  it('shares a public channel through Client4: same id on B, in its default team, shared, listed on both sides', async () => {
    const channelId = await createChannel(a, p.adminA.token, p.adminA.teamId, 'town-talk');
    await addToChannel(a, p.adminA.token, channelId, alice.id);

    expect(await client.sharedChannelRemoteInvite(p.remoteId, channelId)).toEqual({ status: 'OK' });

    // Synchronous for an online remote: B has it when the call returns.
    const onB = await sharedOnB(channelId);
    expect(onB).toMatchObject({ id: channelId, team_id: p.adminB.teamId, type: 'O', name: 'town-talk', display_name: 'town-talk' });
    const viaApi = await http(b, 'GET', `/api/v4/channels/${channelId}`, { token: p.adminB.token });
    expect(viaApi.body).toMatchObject({ id: channelId, team_id: p.adminB.teamId, shared: true });
    expect((await client.getChannel(channelId)).shared).toBe(true);

    // Each side lists the other, in Mattermost's SharedChannelRemote JSON (no cursor columns of ours).
    const onA = (await client.getSharedChannelRemotes(p.remoteId, {} as never)) as unknown as Array<Record<string, unknown>>;
    expect(onA).toEqual([expect.objectContaining({ channel_id: channelId, remote_id: p.remoteId, is_invite_accepted: true, is_invite_confirmed: true, delete_at: 0 })]);
    expect(shapeDiff(onA[0], 'SharedChannelRemote')).toEqual([]);
    expect(onA[0].last_post_create_at).toBeGreaterThan(Date.now() - 60_000);
    const listB = await http(b, 'GET', `/api/v4/remotecluster/${p.remoteId}/sharedchannelremotes`, { token: p.adminB.token });
    expect(listB.body).toEqual([expect.objectContaining({ channel_id: channelId, remote_id: p.remoteId, is_invite_confirmed: true })]);
    expect(shapeDiff(listB.body[0], 'SharedChannelRemote')).toEqual([]);
    // Home and remote filters: the channel is homed on A.
    const filtered = async (inst: Instance, token: string, q: string) =>
      ((await http(inst, 'GET', `/api/v4/remotecluster/${p.remoteId}/sharedchannelremotes?${q}`, { token })).body as Array<{ channel_id: string }>).map((r) => r.channel_id);
    expect(await filtered(a, p.adminA.token, 'exclude_home=true')).toEqual([]);
    expect(await filtered(a, p.adminA.token, 'exclude_remote=true')).toEqual([channelId]);
    expect(await filtered(b, p.adminB.token, 'exclude_home=true')).toEqual([channelId]);
    expect(await filtered(b, p.adminB.token, 'exclude_remote=true')).toEqual([]);

    // SharedChannel JSON with the "Type" quirk; remote_id only on the receiver.
    const sharesA = await http(a, 'GET', `/api/v4/sharedchannels/${p.adminA.teamId}`, { token: p.adminA.token });
    expect(sharesA.body).toEqual([expect.objectContaining({ id: channelId, home: true, readonly: false, Type: 'O', name: 'town-talk' })]);
    expect(shapeDiff(sharesA.body[0], 'SharedChannel.home', ['remote_id'])).toEqual([]);
    expect(sharesA.body[0]).not.toHaveProperty('remote_id');
    const sharesB = await http(b, 'GET', `/api/v4/sharedchannels/${p.adminB.teamId}`, { token: p.adminB.token });
    expect(sharesB.body).toEqual([expect.objectContaining({ id: channelId, home: false, remote_id: p.remoteId, Type: 'O' })]);
    expect(shapeDiff(sharesB.body[0], 'SharedChannel.remote-homed')).toEqual([]);

    // The channel's remotes, as RemoteClusterInfo, for its members.
    const infos = await http(a, 'GET', `/api/v4/sharedchannels/${channelId}/remotes`, { token: alice.token });
    expect(infos.body).toEqual([expect.objectContaining({ remote_id: p.remoteId, name: 'to-b', display_name: 'TO-B' })]);
    expect(shapeDiff(infos.body[0], 'RemoteClusterInfo', []).filter((d) => d !== 'unexpected remote_id')).toEqual([]);
    expect((await http(a, 'GET', `/api/v4/sharedchannels/remote_info/${p.remoteId}`, { token: alice.token })).body).toMatchObject({ name: 'to-b' });
    const stranger = await createUser(a, p.adminA.token, 'stranger');
    expect((await http(a, 'GET', `/api/v4/sharedchannels/remote_info/${p.remoteId}`, { token: stranger.token })).status).toBe(404);
    expect((await http(a, 'GET', `/api/v4/sharedchannels/${p.adminA.teamId}`, { token: alice.token })).body).toHaveLength(1);
    expect((await http(b, 'GET', `/api/v4/sharedchannels/${channelId}/remotes`, { token: p.adminB.token })).body).toEqual([
      expect.objectContaining({ remote_id: p.remoteId, name: 'to-a' }),
    ]);

    // GET /remotecluster's channel filters, as the webapp's invite dialog uses them.
    expect((await client.getRemoteClusters({ notInChannel: channelId } as never)).map((r) => r.remote_id)).toEqual([]);
    const inChannel = await http(a, 'GET', `/api/v4/remotecluster?in_channel=${channelId}`, { token: p.adminA.token });
    expect(inChannel.body.map((r: { remote_id: string }) => r.remote_id)).toEqual([p.remoteId]);

    // A system post on each side, and the lifecycle event the sync engine follows.
    for (const inst of [a, b]) {
      expect(await systemPosts(inst, channelId)).toEqual([
        expect.objectContaining({ type: 'system_generic', props: expect.objectContaining({ shared_channel_state: 'joined', remote_id: p.remoteId }) }),
      ]);
    }
    expect(events.A).toContainEqual(expect.objectContaining({ kind: 'remote_confirmed', channel_id: channelId, remote_id: p.remoteId }));
    expect(events.B).toContainEqual(expect.objectContaining({ kind: 'remote_confirmed', channel_id: channelId, remote_id: p.remoteId }));

    // Inviting again changes nothing.
    expect((await invite(channelId)).body).toEqual({ status: 'OK' });
    expect(await a.query('SELECT 1 FROM shared_channel_remotes WHERE channel_id = $1', [channelId])).toHaveLength(1);
    expect(await systemPosts(b, channelId)).toHaveLength(1);

    // Uninvite on A unshares it on B as well (sharedchannel_unshare); a second uninvite is a 204.
    expect(await client.sharedChannelRemoteUninvite(p.remoteId, channelId)).toEqual({ status: 'OK' });
    expect((await channelRow(a, channelId))?.shared).toBe(false);
    expect(await shareRow(a, channelId)).toBeUndefined();
    await unsharedOnB(channelId);
    expect((await systemPosts(b, channelId)).map((s) => s.message)).toEqual([expect.stringContaining('now shared with'), 'This channel is no longer shared.']);
    expect((await remoteRow(a, channelId, p.remoteId))?.unshare_pending).toBe(false);
    expect(events.B).toContainEqual(expect.objectContaining({ kind: 'remote_removed', channel_id: channelId, remote_id: p.remoteId }));
    expect((await http(a, 'POST', `/api/v4/remotecluster/${p.remoteId}/channels/${channelId}/uninvite`, { token: p.adminA.token })).status).toBe(204);
    expect((await client.getRemoteClusters({ notInChannel: channelId } as never)).map((r) => r.remote_id)).toEqual([p.remoteId]);

    // Shared again: B reuses its channel (restored row, fresh share).
    expect((await invite(channelId)).body).toEqual({ status: 'OK' });
    await sharedOnB(channelId);
    expect(Number((await remoteRow(b, channelId, p.remoteId))?.delete_at)).toBe(0);
    expect(await b.query('SELECT 1 FROM channels WHERE id = $1', [channelId])).toHaveLength(1);
  });

  it('shares a private channel through /channels/{id}/remotes/{remote_id}/invite and uninvites it the same way', async () => {
    const channelId = await createChannel(a, p.adminA.token, p.adminA.teamId, 'secret-plans', 'P');
    const res = await http(a, 'POST', `/api/v4/channels/${channelId}/remotes/${p.remoteId}/invite`, { token: p.adminA.token });
    expect(res.body).toEqual({ status: 'OK' });
    expect(await sharedOnB(channelId)).toMatchObject({ type: 'P', team_id: p.adminB.teamId, name: 'secret-plans' });
    // The connection's admin on B owns it and is its only member of B's (A's members arrive as synthetic users
    // through the membership sync).
    const members = await b.query<{ user_id: string; scheme_admin: boolean }>(
      'SELECT m.user_id, m.scheme_admin FROM channel_members m JOIN users u ON u.id = m.user_id WHERE m.channel_id = $1 AND u.remote_id IS NULL',
      [channelId],
    );
    expect(members).toEqual([{ user_id: (await http(b, 'GET', '/api/v4/users/me', { token: p.adminB.token })).body.id, scheme_admin: true }]);

    const out = await http(a, 'POST', `/api/v4/channels/${channelId}/remotes/${p.remoteId}/uninvite`, { token: p.adminA.token });
    expect(out.body).toEqual({ status: 'OK' });
    await unsharedOnB(channelId);
  });

  it('shares a DM between a user of A and a user of B: B creates it with the same id, A\'s user as a synthetic user', async () => {
    await knowRemoteUser(a, b, p.remoteId, bob.id);
    const dm = await http(a, 'POST', '/api/v4/channels/direct', { token: alice.token, body: [alice.id, bob.id] });
    expect(dm.status).toBe(201);
    const channelId = dm.body.id as string;

    expect((await invite(channelId)).body).toEqual({ status: 'OK' });
    const onB = await sharedOnB(channelId);
    expect(onB).toMatchObject({ type: 'D', team_id: '', name: directChannelName(alice.id, bob.id) });
    const members = await b.query<{ user_id: string }>('SELECT user_id FROM channel_members WHERE channel_id = $1 ORDER BY user_id', [channelId]);
    expect(members.map((m) => m.user_id)).toEqual([alice.id, bob.id].sort());
    const aliceOnB = (await b.query('SELECT username, remote_id, email FROM users WHERE id = $1', [alice.id]))[0];
    expect(aliceOnB).toMatchObject({ username: 'alice:to-a', remote_id: p.remoteId });
    expect(aliceOnB.email).not.toContain('example.com');
    expect(await shareRow(b, channelId)).toMatchObject({ team_id: '', type: 'D' });

    // B's user can DM A's user: its origin is directly connected.
    expect((await http(b, 'GET', `/api/v4/sharedchannels/users/me/can_dm/${alice.id}`, { token: bob.token })).body).toEqual({ can_dm: true });

    expect((await http(a, 'POST', `/api/v4/remotecluster/${p.remoteId}/channels/${channelId}/uninvite`, { token: p.adminA.token })).body).toEqual({
      status: 'OK',
    });
    await unsharedOnB(channelId);
  });

  it('shares a GM of three: two users of A and one of B', async () => {
    const carol = await createUser(a, p.adminA.token, 'carol');
    const gm = await http(a, 'POST', '/api/v4/channels/group', { token: alice.token, body: [alice.id, carol.id, bob.id] });
    expect(gm.status).toBe(201);
    const channelId = gm.body.id as string;

    expect((await invite(channelId)).body).toEqual({ status: 'OK' });
    expect(await sharedOnB(channelId)).toMatchObject({ type: 'G', team_id: '', name: groupChannelName([alice.id, carol.id, bob.id]) });
    const members = await b.query<{ user_id: string }>('SELECT user_id FROM channel_members WHERE channel_id = $1 ORDER BY user_id', [channelId]);
    expect(members.map((m) => m.user_id)).toEqual([alice.id, bob.id, carol.id].sort());
    const remoteUsers = await b.query('SELECT id FROM users WHERE remote_id = $1 AND id = ANY($2)', [p.remoteId, [alice.id, carol.id, bob.id]]);
    expect(remoteUsers).toHaveLength(2);
    // bob can use it on B (not read-only).
    expect((await http(b, 'POST', '/api/v4/posts', { token: bob.token, body: { channel_id: channelId, message: 'hi all' } })).status).toBe(201);
  });

  it('enforces a read-only share: on B members cannot post or react, admins can; A knows the share is read-only', async () => {
    const channelId = await createChannel(a, p.adminA.token, p.adminA.teamId, 'announcements');
    await addToChannel(a, p.adminA.token, channelId, alice.id);
    expect((await invite(channelId, '?readonly=true')).body).toEqual({ status: 'OK' });
    await sharedOnB(channelId);
    expect(await shareRow(b, channelId)).toMatchObject({ readonly: true });
    await addToChannel(b, p.adminB.token, channelId, bob.id);

    const refused = await http(b, 'POST', '/api/v4/posts', { token: bob.token, body: { channel_id: channelId, message: 'may I?' } });
    expect({ status: refused.status, id: refused.body.id }).toEqual({ status: 403, id: 'api.post.create_post.channel_readonly.app_error' });
    const adminPost = await http(b, 'POST', '/api/v4/posts', { token: p.adminB.token, body: { channel_id: channelId, message: 'admins may' } });
    expect(adminPost.status).toBe(201);
    const react = await http(b, 'POST', '/api/v4/reactions', { token: bob.token, body: { user_id: bob.id, post_id: adminPost.body.id, emoji_name: 'smile' } });
    expect(react.status).toBe(403);
    const ack = await http(b, 'POST', `/api/v4/users/${bob.id}/posts/${adminPost.body.id}/ack`, { token: bob.token });
    expect(ack.status).toBe(403);

    // The home: its own members post as usual; the service says the share is read-only (for the sync engine).
    expect((await http(a, 'POST', '/api/v4/posts', { token: alice.token, body: { channel_id: channelId, message: 'news' } })).status).toBe(201);
    expect(await a.app!.get(SharedChannelService).isReadOnlyFor(channelId)).toBe(true);
    expect(await b.app!.get(SharedChannelService).isReadOnlyFor(channelId)).toBe(true);
    // The share cannot silently change mode.
    expect((await invite(channelId, '?readonly=false')).status).toBe(400);
  });

  it('B leaves a channel it received: it unshares locally; A unshares when told "no longer shared" (4.6)', async () => {
    const channelId = await createChannel(a, p.adminA.token, p.adminA.teamId, 'short-lived');
    expect((await invite(channelId)).body).toEqual({ status: 'OK' });
    await sharedOnB(channelId);

    // B's admin uninvites the home: B is out, and (as with Mattermost) A is not told by B.
    const leave = await http(b, 'POST', `/api/v4/remotecluster/${p.remoteId}/channels/${channelId}/uninvite`, { token: p.adminB.token });
    expect(leave.body).toEqual({ status: 'OK' });
    expect(await shareRow(b, channelId)).toBeUndefined();
    expect((await channelRow(b, channelId))?.shared).toBe(false);

    // What the sync engine calls when B answers a sync with "channel is no longer shared".
    await a.app!.get(SharedChannelService).handleNoLongerShared(channelId, p.remoteId);
    expect(await shareRow(a, channelId)).toBeUndefined();
    expect((await channelRow(a, channelId))?.shared).toBe(false);
    expect(await remoteRow(a, channelId, p.remoteId)).toMatchObject({ unshare_pending: false });
    expect((await systemPosts(a, channelId)).map((s) => s.message)).toContain('This channel is no longer shared.');
    expect(events.A).toContainEqual(expect.objectContaining({ kind: 'remote_removed', channel_id: channelId }));
    // Twice is harmless.
    await a.app!.get(SharedChannelService).handleNoLongerShared(channelId, p.remoteId);
  });

  it('B offline: invites (a channel and a DM) and an uninvite wait, and are delivered when B is back, with no manual step', async () => {
    const stays = await createChannel(a, p.adminA.token, p.adminA.teamId, 'leaving-soon');
    expect((await invite(stays)).body).toEqual({ status: 'OK' });
    await sharedOnB(stays);

    const waiting = await createChannel(a, p.adminA.token, p.adminA.teamId, 'while-you-were-out');
    const dave = await createUser(a, p.adminA.token, 'dave');
    const dm = (await http(a, 'POST', '/api/v4/channels/direct', { token: dave.token, body: [dave.id, bob.id] })).body.id as string;

    await b.stop();
    await waitOnline(a, p.remoteId, false);
    expect((await invite(waiting)).body).toEqual({ status: 'OK' });
    expect((await invite(dm)).body).toEqual({ status: 'OK' });
    expect((await http(a, 'POST', `/api/v4/remotecluster/${p.remoteId}/channels/${stays}/uninvite`, { token: p.adminA.token })).body).toEqual({
      status: 'OK',
    });
    expect(await remoteRow(a, waiting, p.remoteId)).toMatchObject({ is_invite_accepted: true, is_invite_confirmed: false });
    expect(await remoteRow(a, stays, p.remoteId)).toMatchObject({ unshare_pending: true });
    const pending = await http(a, 'GET', `/api/v4/remotecluster/${p.remoteId}/sharedchannelremotes?exclude_confirmed=true`, { token: p.adminA.token });
    expect(pending.body.map((r: { channel_id: string }) => r.channel_id).sort()).toEqual([waiting, dm].sort());
    expect((await channelRow(a, waiting))?.shared).toBe(true);

    await b.start();
    const startedAt = Date.now();
    await sharedOnB(waiting);
    await sharedOnB(dm);
    await unsharedOnB(stays);
    const delay = Date.now() - startedAt;
    console.info(`pending invites and unshare delivered ${delay} ms after B came back (PING_INTERVAL_MS=300)`);
    expect(await remoteRow(a, waiting, p.remoteId)).toMatchObject({ is_invite_confirmed: true });
    expect(await remoteRow(a, stays, p.remoteId)).toMatchObject({ unshare_pending: false });
    expect(events.A).toContainEqual(expect.objectContaining({ kind: 'remote_confirmed', channel_id: dm }));
  });
});
