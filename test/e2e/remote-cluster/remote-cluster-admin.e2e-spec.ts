import { newId } from '../../../src/common/ids.js';
import { decryptInvite } from '../../../src/modules/remote-cluster/invite-crypto.js';
import { http, login, type HttpResult } from '../../support/http.js';
import { startInstance, type Instance } from '../../support/instance.js';
import { adminWithTeam, createRemote, type AdminSide } from '../../support/remote-cluster.js';

/** The secure-connection management API on one server (section 10): validation, filters, permissions. */
describe('remote cluster admin API', () => {
  let a: Instance;
  let admin: AdminSide;
  let userToken: string;
  const statuses: number[] = [];

  async function call(method: string, path: string, body?: unknown, token = admin.token): Promise<HttpResult<any>> {
    const res = await http(a, method, `/api/v4/remotecluster${path}`, { token, body });
    statuses.push(res.status);
    return res;
  }

  beforeAll(async () => {
    a = await startInstance('A');
    admin = await adminWithTeam(a);
    const created = await http(a, 'POST', '/api/v4/users', {
      token: admin.token,
      body: { username: 'plain-user', email: 'plain@example.com', password: 'plain-user-password' },
    });
    expect(created.status).toBe(201);
    userToken = await login(a, 'plain-user', 'plain-user-password');
  });
  afterAll(() => a?.destroy());
  afterEach(() => expect(statuses.filter((s) => s >= 500)).toEqual([]));

  it('is for system admins only', async () => {
    expect((await call('GET', '', undefined, userToken)).status).toBe(403);
    expect((await call('POST', '', { name: 'x', default_team_id: admin.teamId }, userToken)).status).toBe(403);
    expect((await call('POST', '/accept_invite', { name: 'x', default_team_id: admin.teamId, invite: 'x', password: 'x' }, userToken)).status).toBe(403);
    const anonymous = await http(a, 'GET', '/api/v4/remotecluster');
    expect(anonymous.status).toBe(401);
    expect(await a.query('SELECT 1 FROM remote_clusters')).toEqual([]);
  });

  it('validates the create body: name, an existing default team', async () => {
    const missingTeam = await call('POST', '', { name: 'acme' });
    expect(missingTeam.status).toBe(400);
    expect(missingTeam.body.message).toContain('default_team_id');
    const unknownTeam = await call('POST', '', { name: 'acme', default_team_id: newId() });
    expect(unknownTeam.body).toMatchObject({ id: 'api.context.invalid_param.app_error', status_code: 400 });
    const badName = await call('POST', '', { name: 'not allowed!', default_team_id: admin.teamId });
    expect(badName.status).toBe(400);
    expect(badName.body.message).toContain('name');
    expect((await call('POST', '', { name: 'x'.repeat(65), default_team_id: admin.teamId })).status).toBe(400);
    expect((await call('POST', '', { name: 42, default_team_id: admin.teamId })).status).toBe(400);
    expect(await a.query('SELECT 1 FROM remote_clusters')).toEqual([]);
  });

  it('refuses a chosen invite password under 8 characters; an empty one means "generate"', async () => {
    const short = await call('POST', '', { name: 'short-pw', default_team_id: admin.teamId, password: 'x' });
    expect({ status: short.status, detail: short.body.detailed_error }).toEqual({ status: 400, detail: expect.stringContaining('at least 8 characters') });
    const generated = await call('POST', '', { name: 'empty-pw', default_team_id: admin.teamId, password: '' });
    expect(generated.status).toBe(201);
    expect(generated.body.password).toMatch(/^[A-Za-z0-9]{16}$/);
    await call('DELETE', `/${generated.body.remote_cluster.remote_id}`);
  });

  it('creates with a given password (not echoed) and ignores fields a client may not set', async () => {
    const res = await call('POST', '', {
      name: 'Given-PW',
      default_team_id: admin.teamId,
      password: 'chosen-password',
      token: 'i-pick-the-token',
      site_url: 'https://evil.example.com',
      remote_id: newId(),
    });
    expect(res.status).toBe(201);
    expect(res.body.password).toBeUndefined();
    expect(res.body.remote_cluster).toMatchObject({ name: 'given-pw', display_name: 'Given-PW', token: '', creator_id: expect.stringMatching(/^[a-z0-9]{26}$/) });
    expect(res.body.remote_cluster.site_url).toMatch(/^pending_/);
    const invite = await decryptInvite(res.body.invite, 'chosen-password');
    expect(invite).toMatchObject({ remote_id: res.body.remote_cluster.remote_id, site_url: a.url, version: 3 });
    expect(invite.token).not.toBe('i-pick-the-token');
  });

  it('gets one by id (404 unknown, 400 malformed), never with tokens', async () => {
    const created = await createRemote(admin, 'getme');
    const id = created.remote_cluster.remote_id;
    const got = await call('GET', `/${id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(created.remote_cluster);
    const inviteToken = (await decryptInvite(created.invite, created.password!)).token;
    const [stored] = await a.query<{ token_hash: string }>('SELECT token_hash FROM remote_clusters WHERE remote_id = $1', [id]);
    expect(got.text).not.toContain(inviteToken);
    expect(got.text).not.toContain(stored.token_hash);
    expect((await call('GET', `/${newId()}`)).body).toMatchObject({ id: 'api.remote_cluster.get.not_found', status_code: 404 });
    expect((await call('GET', '/not-an-id')).status).toBe(400);
  });

  it('re-issues an invite for a pending record as a JSON string, and refuses a confirmed one', async () => {
    const created = await createRemote(admin, 'reissue');
    const id = created.remote_cluster.remote_id;
    const res = await call('POST', `/${id}/generate_invite`, { password: 'second-password' });
    expect(res.status).toBe(201);
    expect(typeof res.body).toBe('string');
    expect(res.text).toBe(JSON.stringify(res.body));
    expect((await decryptInvite(res.body, 'second-password')).remote_id).toBe(id);
    expect((await call('POST', `/${id}/generate_invite`, {})).status).toBe(400);
    expect((await call('POST', `/${newId()}/generate_invite`, { password: 'long-enough' })).status).toBe(404);
    // Mattermost takes any non-empty password; a one-character one is an invitation to guess.
    const short = await call('POST', `/${id}/generate_invite`, { password: 'short12' });
    expect({ status: short.status, detail: short.body.detailed_error }).toEqual({ status: 400, detail: expect.stringContaining('at least 8 characters') });

    await a.query(`UPDATE remote_clusters SET site_url = 'http://127.0.0.1:9/peer' WHERE remote_id = $1`, [id]);
    expect((await call('POST', `/${id}/generate_invite`, { password: 'long-enough' })).body).toMatchObject({
      id: 'api.remote_cluster.generate_invite_cluster_is_confirmed',
      status_code: 400,
    });
    expect((await call('DELETE', `/${id}`)).status).toBe(200);
  });

  it('patches display_name and default_team_id; null leaves a field alone', async () => {
    const created = await createRemote(admin, 'patchme');
    const id = created.remote_cluster.remote_id;
    const renamed = await call('PATCH', `/${id}`, { display_name: 'Patched', default_team_id: null });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ display_name: 'Patched', default_team_id: admin.teamId, token: '', remote_token: '' });
    expect((await call('PATCH', `/${id}`, { default_team_id: '' })).body.default_team_id).toBe('');
    expect((await call('PATCH', `/${id}`, { default_team_id: newId() })).status).toBe(400);
    expect((await call('PATCH', `/${id}`, { display_name: '' })).status).toBe(400);
    expect((await call('PATCH', `/${newId()}`, { display_name: 'x' })).status).toBe(404);
  });

  it('soft-deletes: 200, then 404 on a second delete, still visible by id and with include_deleted', async () => {
    const created = await createRemote(admin, 'deleteme');
    const id = created.remote_cluster.remote_id;
    expect((await call('DELETE', `/${id}`)).body).toEqual({ status: 'OK' });
    expect((await call('DELETE', `/${id}`)).status).toBe(404);
    expect((await call('PATCH', `/${id}`, { display_name: 'x' })).status).toBe(404);
    expect((await call('GET', `/${id}`)).body.delete_at).toBeGreaterThan(0);
    const live = (await call('GET', '')).body as Array<{ remote_id: string }>;
    expect(live.map((r) => r.remote_id)).not.toContain(id);
    const all = (await call('GET', '?include_deleted=true')).body as Array<{ remote_id: string }>;
    expect(all.map((r) => r.remote_id)).toContain(id);
  });

  it('lists with Mattermost\'s filters and paging', async () => {
    const confirmed = await createRemote(admin, 'confirmed-one');
    const confirmedId = confirmed.remote_cluster.remote_id;
    await a.query(`UPDATE remote_clusters SET site_url = 'http://127.0.0.1:9/one', last_ping_at = $2 WHERE remote_id = $1`, [confirmedId, Date.now()]);
    const plugin = await createRemote(admin, 'a-plugin');
    await a.query(`UPDATE remote_clusters SET plugin_id = 'com.example.bridge', site_url = 'plugin_com.example.bridge' WHERE remote_id = $1`, [
      plugin.remote_cluster.remote_id,
    ]);

    const ids = async (query: string) => ((await call('GET', query)).body as Array<{ remote_id: string }>).map((r) => r.remote_id);
    const everything = await ids('?per_page=200');
    expect(everything.length).toBe(5);
    expect(await ids('?only_confirmed=true&exclude_plugins=true')).toEqual([confirmedId]);
    expect(await ids('?only_plugins=true')).toEqual([plugin.remote_cluster.remote_id]);
    expect(await ids('?exclude_offline=true&exclude_plugins=true')).toEqual([confirmedId]);
    expect(await ids('?exclude_plugins=true')).not.toContain(plugin.remote_cluster.remote_id);
    expect(await ids(`?creator_id=${newId()}`)).toEqual([]);
    expect(await ids(`?not_in_channel=${newId()}&only_confirmed=true&exclude_plugins=true`)).toEqual([confirmedId]);

    const page0 = await ids('?page=0&per_page=2');
    const page1 = await ids('?page=1&per_page=2');
    expect(page0).toHaveLength(2);
    expect(page1).toHaveLength(2);
    expect(page0.filter((id) => page1.includes(id))).toEqual([]);
    expect([...page0, ...page1]).toEqual(everything.slice(0, 4));

    for (const bad of ['?only_confirmed=maybe', '?per_page=0', '?per_page=1000', '?creator_id=x', '?not_in_channel=nope']) {
      expect((await call('GET', bad)).status).toBe(400);
    }
  });
});
