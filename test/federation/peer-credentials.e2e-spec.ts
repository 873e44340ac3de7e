import { newId } from '../../src/common/ids.js';
import { decryptInvite } from '../../src/modules/remote-cluster/invite-crypto.js';
import { http, type HttpResult } from '../support/http.js';
import { startPair, type Instance } from '../support/instance.js';
import { acceptInvite, adminWithTeam, createRemote, remoteHeaders, storedRemote, type AdminSide } from '../support/remote-cluster.js';

/**
 * Which credentials open the server-to-server routes. An invite's token (in the code, with its password) used to
 * authenticate /msg as soon as the record existed, confirmed or not, expired or not: whoever held a leaked invite
 * could create channels and DMs with local users and post into them. Now only /confirm_invite takes it, before
 * expiry; /msg, /ping, uploads and images need a confirmed, live connection.
 */
describe('peer credentials on the server-to-server routes', () => {
  let a: Instance;
  let b: Instance;
  let adminA: AdminSide;
  let adminB: AdminSide;
  let localUser: string;

  beforeAll(async () => {
    [a, b] = await startPair();
    [adminA, adminB] = await Promise.all([adminWithTeam(a), adminWithTeam(b)]);
    localUser = (await http<{ id: string }>(a, 'GET', '/api/v4/users/me', { token: adminA.token })).body.id;
  });
  afterAll(() => Promise.all([a?.destroy(), b?.destroy()]));

  function frame(remoteId: string, topic: string, payload: unknown): string {
    return JSON.stringify({ remote_id: remoteId, msg: { id: newId(), topic, create_at: Date.now(), payload } });
  }

  /** Everything a peer's frames could have created on A. */
  async function contents(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const table of ['channels', 'channel_members', 'posts', 'users', 'shared_channels', 'shared_channel_remotes', 'upload_sessions', 'file_infos']) {
      counts[table] = Number((await a.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0].n);
    }
    return counts;
  }

  /** Every route a peer may call except confirm_invite, with a payload that would create something if let in. */
  async function everyRoute(remoteId: string, token: string): Promise<Record<string, HttpResult<any>>> {
    const headers = remoteHeaders(remoteId, token);
    const dmWithLocalUser = {
      channel_id: newId(),
      team_id: '',
      read_only: false,
      name: `${localUser}__${newId()}`,
      display_name: '',
      header: '',
      purpose: '',
      type: 'D',
      creator_id: '',
      direct_participant_ids: [localUser, newId()],
      direct_participants: null,
    };
    const openChannel = { ...dmWithLocalUser, name: `leak-${newId().slice(0, 6)}`, display_name: 'Leaked', type: 'O', direct_participant_ids: null };
    const upload = { id: newId(), type: 'attachment', create_at: 0, user_id: localUser, channel_id: newId(), filename: 'x.bin', file_size: 4, file_offset: 0, remote_id: remoteId, req_file_id: newId() };
    return {
      ping: await http(a, 'POST', '/api/v4/remotecluster/ping', { headers, rawBody: frame(remoteId, 'ping', { sent_at: 1 }) }),
      invite_dm: await http(a, 'POST', '/api/v4/remotecluster/msg', { headers, rawBody: frame(remoteId, 'sharedchannel_invite', dmWithLocalUser) }),
      invite_channel: await http(a, 'POST', '/api/v4/remotecluster/msg', { headers, rawBody: frame(remoteId, 'sharedchannel_invite', openChannel) }),
      upload_session: await http(a, 'POST', '/api/v4/remotecluster/msg', { headers, rawBody: frame(remoteId, 'sharedchannel_upload', upload) }),
      upload: await http(a, 'POST', `/api/v4/remotecluster/upload/${newId()}`, { headers: { ...headers, 'Content-Type': 'application/octet-stream' }, rawBody: Buffer.alloc(4) }),
      image: await http(a, 'POST', `/api/v4/remotecluster/${localUser}/image`, {
        headers: { ...headers, 'Content-Type': 'multipart/form-data; boundary=x' },
        rawBody: '--x\r\nContent-Disposition: form-data; name="image"; filename="profile.png"\r\n\r\nPNG\r\n--x--\r\n',
      }),
    };
  }

  function statusesOf(results: Record<string, HttpResult<any>>): Record<string, [number, string]> {
    return Object.fromEntries(Object.entries(results).map(([k, r]) => [k, [r.status, r.body?.id ?? r.body?.status]]));
  }

  it('refuses an unconfirmed invite\'s token with 401 on /msg, /ping, upload and image, and creates nothing', async () => {
    const created = await createRemote(adminA, 'never-confirmed');
    const remoteId = created.remote_cluster.remote_id;
    const { token } = await decryptInvite(created.invite, created.password!);
    const before = await contents();

    const results = statusesOf(await everyRoute(remoteId, token));
    const refused: [number, string] = [401, 'api.context.invalid_token.error'];
    expect(results).toEqual({ ping: refused, invite_dm: refused, invite_channel: refused, upload_session: refused, upload: refused, image: refused });
    expect(await contents()).toEqual(before);
    expect((await storedRemote(a, remoteId)).site_url).toMatch(/^pending_/);
  });

  it('refuses an expired invite\'s token the same way; confirm_invite answers its expiry', async () => {
    const created = await createRemote(adminA, 'expired-invite');
    const remoteId = created.remote_cluster.remote_id;
    await a.query('UPDATE remote_clusters SET create_at = $2 WHERE remote_id = $1', [remoteId, Date.now() - 49 * 3600 * 1000]);
    const { token } = await decryptInvite(created.invite, created.password!);
    const before = await contents();

    const refused: [number, string] = [401, 'api.context.invalid_token.error'];
    expect(statusesOf(await everyRoute(remoteId, token))).toEqual({
      ping: refused,
      invite_dm: refused,
      invite_channel: refused,
      upload_session: refused,
      upload: refused,
      image: refused,
    });
    const confirm = await http(a, 'POST', '/api/v4/remotecluster/confirm_invite', {
      headers: remoteHeaders(remoteId, token),
      rawBody: frame(remoteId, 'invitation', { remote_id: remoteId, remote_team_id: '', site_url: b.url, token: newId(), refreshed_token: newId(), version: 3 }),
    });
    expect({ status: confirm.status, id: confirm.body.id }).toEqual({ status: 400, id: 'api.context.invitation_expired.error' });
    expect(await contents()).toEqual(before);
    expect((await storedRemote(a, remoteId)).site_url).toMatch(/^pending_/);
  });

  it('lets a confirmed connection\'s token through on every route, and retires the invite\'s token', async () => {
    const created = await createRemote(adminA, 'to-b');
    const remoteId = created.remote_cluster.remote_id;
    const inviteToken = (await decryptInvite(created.invite, created.password!)).token;
    expect((await acceptInvite(adminB, 'to-a', created.invite, created.password!)).status).toBe(201);
    const token = (await storedRemote(b, remoteId)).remote_token as string;

    const results = await everyRoute(remoteId, token);
    expect(results.ping.status).toBe(200);
    // Authenticated: what follows is the handlers' own judgement of the content, not the guard's.
    expect(results.invite_dm.status).toBe(200);
    expect(results.invite_dm.body.status).toBe('FAIL');
    expect(results.invite_channel.body).toEqual({ status: 'OK', err: '', payload: null });
    expect(results.upload.status).not.toBe(401);
    expect(results.image.status).not.toBe(401);
    expect(results.image.status).toBeLessThan(500);

    const refused: [number, string] = [401, 'api.context.invalid_token.error'];
    expect(statusesOf(await everyRoute(remoteId, inviteToken))).toEqual({
      ping: refused,
      invite_dm: refused,
      invite_channel: refused,
      upload_session: refused,
      upload: refused,
      image: refused,
    });
  });

  it('issues a new token with every re-generated invite: the earlier code can no longer be confirmed', async () => {
    const created = await createRemote(adminA, 'regenerated');
    const remoteId = created.remote_cluster.remote_id;
    const first = await decryptInvite(created.invite, created.password!);
    const again = await http<string>(a, 'POST', `/api/v4/remotecluster/${remoteId}/generate_invite`, { token: adminA.token, body: { password: 'a-second-password' } });
    expect(again.status).toBe(201);
    const second = await decryptInvite(again.body, 'a-second-password');
    expect(second.token).not.toBe(first.token);

    const confirmation = frame(remoteId, 'invitation', { remote_id: remoteId, remote_team_id: '', site_url: 'http://127.0.0.1:9', token: newId(), refreshed_token: newId(), version: 3 });
    const stale = await http(a, 'POST', '/api/v4/remotecluster/confirm_invite', { headers: remoteHeaders(remoteId, first.token), rawBody: confirmation });
    expect({ status: stale.status, id: stale.body.id }).toEqual({ status: 401, id: 'api.context.invalid_token.error' });
    expect((await storedRemote(a, remoteId)).site_url).toMatch(/^pending_/);
  });
});
