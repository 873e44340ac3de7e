import { createUsers } from '../support/bulk.js';
import { eventually } from '../support/eventually.js';
import { type Federation, startFederation } from '../support/federation.js';
import { http } from '../support/http.js';
import { metricValue } from '../support/remote-cluster.js';

describe('global user sync', () => {
  let fed: Federation;

  beforeAll(async () => {
    fed = await startFederation(1, { ENABLE_GLOBAL_USER_SYNC: 'true' });
  }, 60_000);
  afterAll(() => fed?.destroy());

  const sentToB = () => metricValue(fed.sides[0].inst, 'shared_channels_items_sent_total', { remote_id: fed.remoteIds[1], kind: 'global_user' });

  it('1,000 users of A reach B as synthetic users, without memberships; a second run sends only the changed ones', async () => {
    const [A, B] = fed.sides;
    const remoteId = fed.remoteIds[1];
    // The connection coming up already sent A's users of that moment (its admin).
    const [{ n: existing }] = await A.inst.query<{ n: string }>('SELECT count(*) AS n FROM users WHERE remote_id IS NULL');
    await eventually(async () => expect(await sentToB()).toBe(Number(existing)));
    const before = await sentToB();
    const ids = await createUsers(A.inst, A.token, 'everyone', 1000);
    // Sixty of them share one update_at: batches of 25 split them, and none may be skipped at a boundary.
    await A.inst.query('UPDATE users SET update_at = (SELECT max(update_at) FROM users) + 1 WHERE id = ANY($1)', [ids.slice(100, 160)]);

    const res = await http(A.inst, 'POST', `/api/v4/remotecluster/${remoteId}/sync_users`, { token: A.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'OK' });
    await eventually(async () => {
      const [{ n }] = await B.inst.query<{ n: string }>('SELECT count(*) AS n FROM users WHERE id = ANY($1) AND remote_id = $2', [ids, remoteId]);
      expect(Number(n)).toBe(1000);
    }, { timeoutMs: 90_000, intervalMs: 250 });
    // Counted on A once B's reply is in, a moment after B has the rows.
    await eventually(async () => expect((await sentToB()) - before).toBe(1000));
    // Synthetic users only: munged names, no password, and no team or channel came with them.
    const [sample] = await B.inst.query<{ username: string; password: string }>('SELECT username, password FROM users WHERE id = $1', [ids[0]]);
    expect(sample).toEqual({ username: 'everyone0000:to-a', password: '' });
    expect(await B.inst.query('SELECT 1 FROM team_members WHERE user_id = ANY($1)', [ids])).toEqual([]);
    expect(await B.inst.query('SELECT 1 FROM channel_members WHERE user_id = ANY($1)', [ids])).toEqual([]);
    // The API's timestamp half of the cursor.
    const rc = await http(A.inst, 'GET', `/api/v4/remotecluster/${remoteId}`, { token: A.token });
    const [{ max }] = await A.inst.query<{ max: string }>('SELECT max(update_at) AS max FROM users WHERE remote_id IS NULL');
    expect(rc.body.last_global_user_sync_at).toBe(Number(max));

    // Five users change; the next run sends those five and nobody else.
    for (const id of ids.slice(500, 505)) {
      const patch = await http(A.inst, 'PUT', `/api/v4/users/${id}/patch`, { token: A.token, body: { nickname: `changed ${id.slice(0, 4)}` } });
      expect(patch.status).toBe(200);
    }
    const beforeSecond = await sentToB();
    expect((await http(A.inst, 'POST', `/api/v4/remotecluster/${remoteId}/sync_users`, { token: A.token })).status).toBe(200);
    await eventually(async () => {
      const rows = await B.inst.query<{ nickname: string }>('SELECT nickname FROM users WHERE id = ANY($1)', [ids.slice(500, 505)]);
      expect(rows.map((r) => r.nickname).every((n) => n.startsWith('changed '))).toBe(true);
      expect((await sentToB()) - beforeSecond).toBe(5);
    }, { timeoutMs: 20_000 });
  }, 180_000);

  it('the admin route: 404 for an unknown connection, 403 for a non-admin', async () => {
    const [A] = fed.sides;
    expect((await http(A.inst, 'POST', '/api/v4/remotecluster/aaaaaaaaaaaaaaaaaaaaaaaaaa/sync_users', { token: A.token })).status).toBe(404);
    const ids = await createUsers(A.inst, A.token, 'plain', 1);
    expect(ids).toHaveLength(1);
    const login = await http(A.inst, 'POST', '/api/v4/users/login', { body: { login_id: 'plain0000', password: 'plain0000-password' } });
    const res = await http(A.inst, 'POST', `/api/v4/remotecluster/${fed.remoteIds[1]}/sync_users`, { token: login.headers.get('token')! });
    expect(res.status).toBe(403);
  });
});
