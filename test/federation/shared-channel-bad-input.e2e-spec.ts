import { newId } from '../../src/common/ids.js';
import { UserDirectory } from '../../src/modules/auth/user-directory.service.js';
import { sanitizeUserForSync } from '../../src/modules/shared-channel/remote-users.service.js';
import { addToTeam, createChannel, createUser, type TestUser } from '../support/chat.js';
import { http, type HttpResult } from '../support/http.js';
import type { Instance } from '../support/instance.js';
import { eventually } from '../support/eventually.js';
import { channelRow, remoteRow, sendFrame, shareRow, startSharedPair, waitOnline, type SharedPair } from '../support/shared-channel.js';

/**
 * Sharing under bad input: unknown ids, callers without the permission, and invitation frames a peer might send
 * broken or hostile. Every refusal is a clean 4xx (API) or a FAIL reply (protocol) that leaves nothing behind;
 * nothing answers 500.
 */
describe('shared channels: bad input', () => {
  let p: SharedPair;
  let a: Instance;
  let b: Instance;
  let userA: TestUser;
  let userB1: TestUser;
  let userB2: TestUser;
  let channelA: string;
  const statuses: number[] = [];

  async function call(inst: Instance, method: string, path: string, token: string): Promise<HttpResult<any>> {
    const res = await http(inst, method, path, { token });
    statuses.push(res.status);
    return res;
  }

  /** A sharedchannel_invite to B as A sends it; returns the Response envelope. */
  async function inviteB(payload: unknown): Promise<{ status: string; err: string }> {
    const res = await sendFrame(a, b, p.remoteId, 'sharedchannel_invite', payload);
    statuses.push(res.status);
    expect(res.status).toBe(200);
    return res.body;
  }

  function openInvite(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      channel_id: newId(),
      team_id: '',
      read_only: false,
      name: `c-${newId().slice(0, 8)}`,
      display_name: 'A channel',
      header: '',
      purpose: '',
      type: 'O',
      creator_id: '',
      direct_participant_ids: null,
      direct_participants: null,
      ...overrides,
    };
  }

  async function expectNothingOnB(channelId: string): Promise<void> {
    expect(await channelRow(b, channelId)).toBeUndefined();
    expect(await shareRow(b, channelId)).toBeUndefined();
    expect(await b.query('SELECT 1 FROM shared_channel_remotes WHERE channel_id = $1', [channelId])).toEqual([]);
    expect(await b.query('SELECT 1 FROM channel_members WHERE channel_id = $1', [channelId])).toEqual([]);
    expect(await b.query('SELECT 1 FROM posts WHERE channel_id = $1', [channelId])).toEqual([]);
  }

  beforeAll(async () => {
    p = await startSharedPair();
    ({ a, b } = p);
    userA = await createUser(a, p.adminA.token, 'plain-a');
    [userB1, userB2] = [await createUser(b, p.adminB.token, 'bee-one'), await createUser(b, p.adminB.token, 'bee-two')];
    channelA = await createChannel(a, p.adminA.token, p.adminA.teamId, 'general-a');
  });
  afterAll(() => Promise.all([p?.a.destroy(), p?.b.destroy()]));
  afterEach(() => {
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
  });

  it('unknown channel or remote is 404, a malformed id 400, on both invite paths and on uninvite', async () => {
    const ghost = newId();
    for (const path of [
      `/api/v4/remotecluster/${ghost}/channels/${channelA}/invite`,
      `/api/v4/channels/${channelA}/remotes/${ghost}/invite`,
      `/api/v4/remotecluster/${p.remoteId}/channels/${ghost}/invite`,
      `/api/v4/channels/${ghost}/remotes/${p.remoteId}/invite`,
      `/api/v4/remotecluster/${ghost}/channels/${channelA}/uninvite`,
      `/api/v4/remotecluster/${p.remoteId}/channels/${ghost}/uninvite`,
    ]) {
      expect({ path, status: (await call(a, 'POST', path, p.adminA.token)).status }).toEqual({ path, status: 404 });
    }
    expect((await call(a, 'POST', `/api/v4/remotecluster/nope/channels/${channelA}/invite`, p.adminA.token)).status).toBe(400);
    expect((await call(a, 'GET', `/api/v4/remotecluster/${ghost}/sharedchannelremotes`, p.adminA.token)).status).toBe(404);
    expect((await call(a, 'GET', `/api/v4/sharedchannels/remote_info/${ghost}`, p.adminA.token)).status).toBe(404);
    expect((await call(a, 'GET', `/api/v4/sharedchannels/${ghost}/remotes`, p.adminA.token)).status).toBe(404);
    expect((await call(a, 'GET', `/api/v4/sharedchannels/users/${ghost}/can_dm/${userA.id}`, p.adminA.token)).status).toBe(404);
    expect((await call(a, 'GET', `/api/v4/sharedchannels/users/me/can_dm/${ghost}`, p.adminA.token)).body).toEqual({ can_dm: false });
    expect((await call(a, 'GET', `/api/v4/remotecluster/${p.remoteId}/sharedchannelremotes?exclude_home=true&exclude_remote=true`, p.adminA.token)).status).toBe(400);
    expect(await shareRow(a, channelA)).toBeUndefined();
  });

  it('a user without manage_shared_channels gets 403, even as the channel\'s admin, and nothing is shared', async () => {
    await addToTeam(a, p.adminA.token, p.adminA.teamId, userA.id);
    // userA creates it, so is its channel admin: still no manage_shared_channels.
    const own = await createChannel(a, userA.token, p.adminA.teamId, 'mine');
    for (const [path, ch] of [
      [`/api/v4/remotecluster/${p.remoteId}/channels/${own}/invite`, own],
      [`/api/v4/channels/${channelA}/remotes/${p.remoteId}/invite`, channelA],
      [`/api/v4/remotecluster/${p.remoteId}/channels/${own}/uninvite`, own],
    ]) {
      const res = await call(a, 'POST', path, userA.token);
      expect({ path, status: res.status, id: res.body.id }).toEqual({ path, status: 403, id: 'api.context.permissions.app_error' });
      expect(await shareRow(a, ch)).toBeUndefined();
    }
    expect((await call(a, 'GET', `/api/v4/remotecluster/${p.remoteId}/sharedchannelremotes`, userA.token)).status).toBe(403);
    // Without a session at all: 401.
    expect((await http(a, 'POST', `/api/v4/remotecluster/${p.remoteId}/channels/${own}/invite`)).status).toBe(401);
  });

  it('only the home invites: B cannot invite A to a channel it received (400), and a DM goes only to a participant\'s workspace', async () => {
    expect((await call(a, 'POST', `/api/v4/remotecluster/${p.remoteId}/channels/${channelA}/invite`, p.adminA.token)).body).toEqual({ status: 'OK' });
    const back = await call(b, 'POST', `/api/v4/remotecluster/${p.remoteId}/channels/${channelA}/invite`, p.adminB.token);
    expect({ status: back.status, id: back.body.id }).toEqual({ status: 400, id: 'api.command_share.channel_invite_not_home.error' });

    // A DM between two users of A cannot be shared with B.
    const other = await createUser(a, p.adminA.token, 'plain-a2');
    const dm = (await http(a, 'POST', '/api/v4/channels/direct', { token: userA.token, body: [userA.id, other.id] })).body.id as string;
    const res = await call(a, 'POST', `/api/v4/remotecluster/${p.remoteId}/channels/${dm}/invite`, p.adminA.token);
    expect(res.status).toBe(400);
    expect(await shareRow(a, dm)).toBeUndefined();
  });

  it('malformed invitation payloads answer FAIL and leave no channel behind', async () => {
    const cases: Array<[string, unknown]> = [
      ['a string', 'not an invite'],
      ['null', null],
      ['an array', [1, 2]],
      ['a number for channel_id', openInvite({ channel_id: 42 })],
      ['a bad channel id', openInvite({ channel_id: 'short' })],
      ['an unknown type', openInvite({ type: 'X' })],
      ['a string for read_only', openInvite({ read_only: 'yes' })],
      ['a bad name', openInvite({ name: 'Not A Name!' })],
      ['an empty display name', openInvite({ display_name: '' })],
      ['a 65-character display name', openInvite({ display_name: 'x'.repeat(65) })],
      ['a 1025-character header', openInvite({ header: 'h'.repeat(1025) })],
      ['an object for direct_participant_ids', openInvite({ type: 'D', direct_participant_ids: { a: 1 } })],
      ['a group of two', openInvite({ type: 'G', direct_participant_ids: [newId(), newId()] })],
      ['a DM of one', openInvite({ type: 'D', direct_participant_ids: [newId()] })],
    ];
    for (const [what, payload] of cases) {
      const reply = await inviteB(payload);
      expect({ what, status: reply.status }).toEqual({ what, status: 'FAIL' });
      expect(reply.err).not.toBe('');
      const id = (payload as { channel_id?: unknown } | null)?.channel_id;
      if (typeof id === 'string' && id.length === 26) await expectNothingOnB(id);
    }
    expect(await b.query('SELECT 1 FROM shared_channels WHERE home = false AND channel_id <> $1', [channelA])).toEqual([]);
  });

  it('collisions answer FAIL with the reason and nothing half-created', async () => {
    // The channel id exists on B already.
    const local = await createChannel(b, p.adminB.token, p.adminB.teamId, 'b-local');
    const exists = await inviteB(openInvite({ channel_id: local }));
    expect(exists).toMatchObject({ status: 'FAIL', err: expect.stringContaining('channel already exists') });
    expect((await channelRow(b, local))?.shared).toBe(false);
    expect(await shareRow(b, local)).toBeUndefined();

    // The name is taken in the connection's default team.
    const taken = openInvite({ name: 'b-local' });
    expect(await inviteB(taken)).toMatchObject({ status: 'FAIL', err: expect.stringContaining('already exists in the team') });
    await expectNothingOnB(taken.channel_id as string);
  });

  it('a DM invite whose users are both local to B answers FAIL; so do DMs and GMs without a user of the sender', async () => {
    const bothLocal = openInvite({ type: 'D', name: '', direct_participant_ids: [userB1.id, userB2.id] });
    expect(await inviteB(bothLocal)).toMatchObject({ status: 'FAIL', err: expect.stringContaining('both users are local') });
    await expectNothingOnB(bothLocal.channel_id as string);

    // A participant that is neither known on B nor carried in the invite.
    const unknown = openInvite({ type: 'D', direct_participant_ids: [userB1.id, newId()] });
    expect(await inviteB(unknown)).toMatchObject({ status: 'FAIL', err: expect.stringContaining('unknown here') });
    await expectNothingOnB(unknown.channel_id as string);

    // A carried participant with an unusable username: refused before any user is created.
    const stranger = { ...sanitizeUserForSync(await a.app!.get(UserDirectory).get(userA.id)), username: 'Bad Name!' };
    const badUser = openInvite({ type: 'D', direct_participant_ids: [userB1.id, userA.id], direct_participants: [stranger] });
    expect(await inviteB(badUser)).toMatchObject({ status: 'FAIL', err: expect.stringContaining('valid username') });
    await expectNothingOnB(badUser.channel_id as string);
    expect(await b.query('SELECT 1 FROM users WHERE id = $1', [userA.id])).toEqual([]);

    // A GM of B's users only.
    const userB3 = await createUser(b, p.adminB.token, 'bee-three');
    const gm = openInvite({ type: 'G', direct_participant_ids: [userB1.id, userB2.id, userB3.id] });
    expect(await inviteB(gm)).toMatchObject({ status: 'FAIL', err: expect.stringContaining('no participant belongs to the sender') });
    await expectNothingOnB(gm.channel_id as string);
  });

  it('unshare frames: an unknown channel is a no-op, a channel B is home of but does not share with A is refused', async () => {
    expect((await sendFrame(a, b, p.remoteId, 'sharedchannel_unshare', { channel_id: newId(), remote_id: p.remoteId })).body).toMatchObject({ status: 'OK' });
    expect((await sendFrame(a, b, p.remoteId, 'sharedchannel_unshare', 'nonsense')).body).toMatchObject({ status: 'FAIL' });

    // B shares one of its channels with A (sharing works both ways over one connection).
    const homedOnB = await createChannel(b, p.adminB.token, p.adminB.teamId, 'b-news');
    expect((await call(b, 'POST', `/api/v4/remotecluster/${p.remoteId}/channels/${homedOnB}/invite`, p.adminB.token)).body).toEqual({ status: 'OK' });
    expect(await shareRow(a, homedOnB)).toMatchObject({ home: false, remote_id: p.remoteId });

    // The same channel id offered by A as an invite to B is refused: B is its home.
    expect(await inviteB(openInvite({ channel_id: homedOnB, name: 'b-news' }))).toMatchObject({ status: 'FAIL', err: expect.stringContaining('homed on this server') });

    // A channel B shares as home, but not with A: refused.
    const notShared = await createChannel(b, p.adminB.token, p.adminB.teamId, 'b-private-news');
    await b.query(
      `INSERT INTO shared_channels (channel_id, team_id, home, readonly, name, display_name, purpose, header, creator_id, create_at, update_at, remote_id, type)
       VALUES ($1, $2, true, false, 'b-private-news', 'b-private-news', '', '', $3, 1, 1, NULL, 'O')`,
      [notShared, p.adminB.teamId, userB1.id],
    );
    const refused = await sendFrame(a, b, p.remoteId, 'sharedchannel_unshare', { channel_id: notShared, remote_id: p.remoteId });
    expect(refused.body).toMatchObject({ status: 'FAIL', err: expect.stringContaining('invalid unshare request') });

    // From a remote of a channel homed on B it means that remote leaves (it deleted its connection): B drops A,
    // and with no remote left the channel is no longer shared on B.
    expect((await sendFrame(a, b, p.remoteId, 'sharedchannel_unshare', { channel_id: homedOnB, remote_id: p.remoteId })).body).toMatchObject({ status: 'OK' });
    expect(await shareRow(b, homedOnB)).toBeUndefined();
    expect((await remoteRow(b, homedOnB, p.remoteId))?.delete_at).not.toBe('0');
  });

  it('an invite that B refuses is a 502 carrying B\'s reason, and A stores nothing', async () => {
    // Make B refuse: a channel with A's id already exists on B (created there with the same id by hand).
    const ch = await createChannel(a, p.adminA.token, p.adminA.teamId, 'refused-by-b');
    await b.query(
      `INSERT INTO channels (id, create_at, update_at, delete_at, team_id, type, display_name, name, header, purpose, last_post_at, last_root_post_at, total_msg_count, extra_update_at, creator_id, shared)
       VALUES ($1, 1, 1, 0, $2, 'O', 'x', 'squatter', '', '', 0, 0, 0, 0, '', false)`,
      [ch, p.adminB.teamId],
    );
    const res = await call(a, 'POST', `/api/v4/remotecluster/${p.remoteId}/channels/${ch}/invite`, p.adminA.token);
    expect({ status: res.status, id: res.body.id }).toEqual({ status: 502, id: 'api.command_share.channel_invite.error' });
    expect(res.body.detailed_error).toContain('channel already exists');
    expect(await shareRow(a, ch)).toBeUndefined();
    expect((await channelRow(a, ch))?.shared).toBe(false);
    expect(await a.query('SELECT 1 FROM shared_channel_remotes WHERE channel_id = $1', [ch])).toEqual([]);
    statuses.pop(); // the 502 is the expected answer here
  });

  it('a pending invite that B refuses once back online is withdrawn on A (not retried forever)', async () => {
    const ch = await createChannel(a, p.adminA.token, p.adminA.teamId, 'refused-later');
    await b.query(
      `INSERT INTO channels (id, create_at, update_at, delete_at, team_id, type, display_name, name, header, purpose, last_post_at, last_root_post_at, total_msg_count, extra_update_at, creator_id, shared)
       VALUES ($1, 1, 1, 0, $2, 'O', 'x', 'squatter-2', '', '', 0, 0, 0, 0, '', false)`,
      [ch, p.adminB.teamId],
    );
    await b.stop();
    await waitOnline(a, p.remoteId, false);
    expect((await call(a, 'POST', `/api/v4/remotecluster/${p.remoteId}/channels/${ch}/invite`, p.adminA.token)).body).toEqual({ status: 'OK' });
    expect((await channelRow(a, ch))?.shared).toBe(true);

    await b.start();
    await eventually(async () => {
      expect(Number((await remoteRow(a, ch, p.remoteId))?.delete_at)).toBeGreaterThan(0);
      expect(await shareRow(a, ch)).toBeUndefined();
      expect((await channelRow(a, ch))?.shared).toBe(false);
    });
    expect(await remoteRow(a, ch, p.remoteId)).toMatchObject({ is_invite_confirmed: false, unshare_pending: false });
    expect((await channelRow(b, ch))?.shared).toBe(false);
  });
});
