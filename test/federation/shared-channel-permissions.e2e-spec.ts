import { Client4 } from '@mattermost/client';
import { addToChannel, addToTeam, createChannel, createUser, type TestUser } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { http } from '../support/http.js';
import { shareRow, startSharedPair, type SharedPair } from '../support/shared-channel.js';

/** A Client4 logged in with an existing session token, as the web app holds one. */
function clientFor(url: string, token: string): Client4 {
  const client = new Client4();
  client.setUrl(url);
  client.setToken(token);
  return client;
}

/** The HTTP status of a Client4 call that must fail (Client4 throws a ClientError carrying it). */
async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
  } catch (err) {
    return (err as { status_code?: number }).status_code ?? -1;
  }
  return 200;
}

/**
 * Permissions as Mattermost now has them, driven through Mattermost's own JS client: inviting and uninviting a
 * secure connection take manage_shared_channels, which a system admin grants through the
 * system_shared_channel_manager role (PUT /users/{id}/roles), without manage_secure_connections.
 */
describe('manage_shared_channels through the system_shared_channel_manager role (Client4)', () => {
  let p: SharedPair;
  let admin: Client4;
  let carol: TestUser;
  let dave: TestUser;
  let channel: string;
  let other: string;

  beforeAll(async () => {
    p = await startSharedPair();
    admin = clientFor(p.a.url, p.adminA.token);
    carol = await createUser(p.a, p.adminA.token, 'carol-mgr');
    dave = await createUser(p.a, p.adminA.token, 'dave-plain');
    for (const u of [carol, dave]) await addToTeam(p.a, p.adminA.token, p.adminA.teamId, u.id);
    channel = await createChannel(p.a, p.adminA.token, p.adminA.teamId, 'perm-shared');
    other = await createChannel(p.a, p.adminA.token, p.adminA.teamId, 'perm-other');
    for (const ch of [channel, other]) for (const u of [carol, dave]) await addToChannel(p.a, p.adminA.token, ch, u.id);
  }, 60_000);
  afterAll(async () => {
    await p?.a.destroy();
    await p?.b.destroy();
  });

  it('a user given the role invites and uninvites a remote; one without it gets 403 and nothing is shared', async () => {
    const carolClient = clientFor(p.a.url, carol.token);
    const daveClient = clientFor(p.a.url, dave.token);

    // Before the role: 403 for both, even as channel members.
    expect(await statusOf(carolClient.sharedChannelRemoteInvite(p.remoteId, channel))).toBe(403);

    expect(await admin.updateUserRoles(carol.id, 'system_user system_shared_channel_manager')).toEqual({ status: 'OK' });
    expect((await admin.getUser(carol.id)).roles).toBe('system_user system_shared_channel_manager');

    expect(await carolClient.sharedChannelRemoteInvite(p.remoteId, channel)).toEqual({ status: 'OK' });
    await eventually(async () => expect(await shareRow(p.b, channel)).toBeDefined(), { timeoutMs: 15_000 });
    expect((await shareRow(p.a, channel))?.home).toBe(true);

    expect(await statusOf(daveClient.sharedChannelRemoteInvite(p.remoteId, other))).toBe(403);
    expect(await shareRow(p.a, other)).toBeUndefined();
    expect(await statusOf(daveClient.sharedChannelRemoteUninvite(p.remoteId, channel))).toBe(403);
    expect((await shareRow(p.a, channel))?.home).toBe(true);

    // The role is not manage_secure_connections: the connections themselves stay the admins'.
    expect(await statusOf(carolClient.getRemoteClusters())).toBe(403);
    expect(await statusOf(carolClient.deleteRemoteCluster(p.remoteId))).toBe(403);

    expect(await carolClient.sharedChannelRemoteUninvite(p.remoteId, channel)).toEqual({ status: 'OK' });
    await eventually(async () => expect(await shareRow(p.b, channel)).toBeUndefined(), { timeoutMs: 15_000 });
    expect(await shareRow(p.a, channel)).toBeUndefined();
  });

  it('the role does not open channels the holder cannot see: a private channel she is not in answers 403', async () => {
    const secret = await createChannel(p.a, p.adminA.token, p.adminA.teamId, 'perm-secret', 'P');
    const res = await http(p.a, 'POST', `/api/v4/remotecluster/${p.remoteId}/channels/${secret}/invite`, { token: carol.token });
    expect({ status: res.status, id: res.body.id }).toEqual({ status: 403, id: 'api.context.permissions.app_error' });
    expect(await shareRow(p.a, secret)).toBeUndefined();
  });

  it('roles are changed only by system admins, and only to roles this server knows (400 otherwise)', async () => {
    const daveClient = clientFor(p.a.url, dave.token);
    expect(await statusOf(daveClient.updateUserRoles(dave.id, 'system_user system_shared_channel_manager'))).toBe(403);
    expect((await admin.getUser(dave.id)).roles).toBe('system_user');

    for (const roles of ['system_user root', 'system_shared_channel_manager', 'system_user system_user', '']) {
      const res = await http(p.a, 'PUT', `/api/v4/users/${dave.id}/roles`, { token: p.adminA.token, body: { roles } });
      expect({ roles, status: res.status, id: res.body.id }).toEqual({ roles, status: 400, id: 'api.context.invalid_body_param.app_error' });
    }
    const missing = await http(p.a, 'PUT', '/api/v4/users/aaaaaaaaaaaaaaaaaaaaaaaaaa/roles', { token: p.adminA.token, body: { roles: 'system_user' } });
    expect(missing.status).toBe(404);
    expect((await admin.getUser(dave.id)).roles).toBe('system_user');

    // Taking the role away takes the permission away at once (sessions read roles on every request).
    expect(await admin.updateUserRoles(carol.id, 'system_user')).toEqual({ status: 'OK' });
    expect(await statusOf(clientFor(p.a.url, carol.token).sharedChannelRemoteInvite(p.remoteId, channel))).toBe(403);
  });
});
