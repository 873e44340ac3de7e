import { http } from '../support/http.js';
import { startPair, type Instance } from '../support/instance.js';
import { acceptInvite, adminWithTeam, createRemote, storedRemote, type AdminSide } from '../support/remote-cluster.js';

/**
 * Re-issued invites (POST /api/v4/remotecluster/{id}/generate_invite). Mattermost measures an invite's 48 h from
 * the record's create_at, so a code re-issued late is nearly dead at birth (protocol 12.4); here every code runs
 * 48 h from its own issue, and an expired pending record can be re-issued instead of deleted and recreated.
 */
describe('re-issued invites', () => {
  let a: Instance;
  let b: Instance;
  let adminA: AdminSide;
  let adminB: AdminSide;

  beforeAll(async () => {
    [a, b] = await startPair();
    [adminA, adminB] = await Promise.all([adminWithTeam(a), adminWithTeam(b)]);
  });
  afterAll(async () => {
    await Promise.all([a?.destroy(), b?.destroy()]);
  });

  it('a re-issued invite runs 48 h from its own issue, not from the record\'s creation (Mattermost weakness 12.4)', async () => {
    const created = await createRemote(adminA, 'reissued-b');
    const id = created.remote_cluster.remote_id;
    // The record is 47 h old: re-issued now, Mattermost's code would die within the hour.
    await a.query('UPDATE remote_clusters SET create_at = $2 WHERE remote_id = $1', [id, Date.now() - 47 * 3600 * 1000]);
    const regenerated = await http(a, 'POST', `/api/v4/remotecluster/${id}/generate_invite`, {
      token: adminA.token,
      body: { password: 'another-password' },
    });
    expect(regenerated.status).toBe(201);
    // Two more hours pass (the record is now 49 h old): the re-issued code still works, the first one does not.
    await a.query('UPDATE remote_clusters SET create_at = create_at - $2, invite_issued_at = invite_issued_at - $2 WHERE remote_id = $1', [id, 2 * 3600 * 1000]);
    const stale = await acceptInvite(adminB, 'reissued-a-old', created.invite, created.password!);
    expect({ status: stale.status, id: stale.body.id }).toEqual({ status: 400, id: 'api.remote_cluster.accept_invitation_error' });
    const res = await acceptInvite(adminB, 'reissued-a', regenerated.body as string, 'another-password');
    expect(res.status).toBe(201);
    expect((await storedRemote(a, id)).site_url).toBe(b.url);
    // Both sides let go of it, so the tests below start unconnected.
    const disconnect = async () => {
      expect((await http(a, 'DELETE', `/api/v4/remotecluster/${id}`, { token: adminA.token })).status).toBe(200);
      expect((await http(b, 'DELETE', `/api/v4/remotecluster/${id}`, { token: adminB.token })).status).toBe(200);
    };

    // An expired record can be re-issued too: the admin need not delete and recreate it.
    const old = await createRemote(adminA, 'reissued-late-b');
    await a.query('UPDATE remote_clusters SET create_at = $2, invite_issued_at = $2 WHERE remote_id = $1', [old.remote_cluster.remote_id, Date.now() - 49 * 3600 * 1000]);
    const late = await http(a, 'POST', `/api/v4/remotecluster/${old.remote_cluster.remote_id}/generate_invite`, {
      token: adminA.token,
      body: { password: 'another-password' },
    });
    expect(late.status).toBe(201);
    await disconnect();
    expect((await acceptInvite(adminB, 'reissued-late-a', late.body as string, 'another-password')).status).toBe(201);
    for (const side of [{ inst: a, admin: adminA }, { inst: b, admin: adminB }]) {
      expect((await http(side.inst, 'DELETE', `/api/v4/remotecluster/${old.remote_cluster.remote_id}`, { token: side.admin.token })).status).toBe(200);
    }
  });
});
