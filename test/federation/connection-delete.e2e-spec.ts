import { createChannel, createPost } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { type Federation, memberOf, shareWith, startFederation } from '../support/federation.js';
import { http } from '../support/http.js';
import { channelRow, remoteRow, shareRow, startSharedPair, systemPosts, type SharedPair } from '../support/shared-channel.js';

async function postIds(inst: { query: (sql: string, p?: unknown[]) => Promise<Array<Record<string, unknown>>> }, channelId: string): Promise<string[]> {
  return (await inst.query("SELECT id FROM posts WHERE channel_id = $1 AND type NOT LIKE 'system\\_%' ORDER BY create_at, id", [channelId])).map((r) => r.id as string);
}

/**
 * Clean disconnect: deleting a secure connection unshares every channel shared only with it (and tells the peer),
 * leaves channels shared with others intact, optionally deactivates the synthetic users that came only from it, all
 * in one transaction.
 */
describe('deleting a secure connection (A home of X with B only and of Y with B and C; B home of Z with A)', () => {
  let fed: Federation;
  let X: string;
  let Y: string;
  let Z: string;
  let bob: { id: string; token: string };
  let bert: { id: string; token: string };
  let carol: { id: string; token: string };

  beforeAll(async () => {
    fed = await startFederation(2);
    const [A, B, C] = fed.sides;
    X = await createChannel(A.inst, A.token, A.teamId, 'only-with-b');
    Y = await createChannel(A.inst, A.token, A.teamId, 'with-b-and-c');
    await shareWith(fed, X, 1);
    await shareWith(fed, Y, 1);
    await shareWith(fed, Y, 2);
    Z = await createChannel(B.inst, B.token, B.teamId, 'homed-on-b');
    const inviteZ = await http(B.inst, 'POST', `/api/v4/remotecluster/${fed.remoteIds[1]}/channels/${Z}/invite`, { token: B.token });
    expect(inviteZ.body).toEqual({ status: 'OK' });
    bob = await memberOf(B, 'bob-del', Y);
    bert = await memberOf(B, 'bert-del', X);
    carol = await memberOf(C, 'carol-del', Y);
    await createPost(B.inst, bob.token, Y, 'bob in Y');
    await createPost(B.inst, bert.token, X, 'bert in X');
    await createPost(C.inst, carol.token, Y, 'carol in Y');
    await eventually(async () => {
      expect(await A.inst.query('SELECT id FROM users WHERE id = ANY($1) AND delete_at = 0', [[bob.id, bert.id, carol.id]])).toHaveLength(3);
      expect(await postIds(A.inst, X)).toHaveLength(1);
      expect(await postIds(A.inst, Y)).toHaveLength(2);
    }, { timeoutMs: 20_000 });
  }, 120_000);
  afterAll(() => fed?.destroy());

  it('a failure in the middle leaves nothing done (one transaction)', async () => {
    const [A] = fed.sides;
    const bad = await http(A.inst, 'DELETE', `/api/v4/remotecluster/${fed.remoteIds[1]}?deactivate_users=maybe`, { token: A.token });
    expect({ status: bad.status, id: bad.body.id }).toEqual({ status: 400, id: 'api.context.invalid_body_param.app_error' });
    // The database fails when the users are deactivated, the last step of the deletion.
    await A.inst.query(`CREATE FUNCTION fail_deactivation() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected failure' USING ERRCODE = '57P03'; END $$`);
    await A.inst.query('CREATE TRIGGER fail_deactivation BEFORE UPDATE OF delete_at ON users FOR EACH ROW EXECUTE FUNCTION fail_deactivation()');
    const systemBefore = (await systemPosts(A.inst, X)).length + (await systemPosts(A.inst, Y)).length;
    try {
      const res = await http(A.inst, 'DELETE', `/api/v4/remotecluster/${fed.remoteIds[1]}?deactivate_users=true`, { token: A.token });
      expect({ status: res.status, id: res.body.id }).toEqual({ status: 503, id: 'app.server_busy' });
    } finally {
      await A.inst.query('DROP TRIGGER fail_deactivation ON users');
      await A.inst.query('DROP FUNCTION fail_deactivation()');
    }
    const [rc] = await A.inst.query<{ delete_at: string }>('SELECT delete_at FROM remote_clusters WHERE remote_id = $1', [fed.remoteIds[1]]);
    expect(rc.delete_at).toBe('0');
    for (const ch of [X, Y, Z]) {
      expect(await shareRow(A.inst, ch)).toBeDefined();
      expect((await channelRow(A.inst, ch))?.shared).toBe(true);
      expect((await remoteRow(A.inst, ch, fed.remoteIds[1]))?.delete_at).toBe('0');
    }
    expect((await systemPosts(A.inst, X)).length + (await systemPosts(A.inst, Y)).length).toBe(systemBefore);
    expect(await A.inst.query('SELECT id FROM users WHERE id = ANY($1) AND delete_at = 0', [[bob.id, bert.id]])).toHaveLength(2);
  });

  it('X is unshared on both sides, Y keeps syncing with C, Z (homed on B) is left on both sides; only-B users are deactivated', async () => {
    const [A, B, C] = fed.sides;
    const res = await http(A.inst, 'DELETE', `/api/v4/remotecluster/${fed.remoteIds[1]}?deactivate_users=true`, { token: A.token });
    expect(res.body).toEqual({ status: 'OK' });

    // A, at once (the deletion committed it all together).
    expect(Number((await A.inst.query<{ delete_at: string }>('SELECT delete_at FROM remote_clusters WHERE remote_id = $1', [fed.remoteIds[1]]))[0].delete_at)).toBeGreaterThan(0);
    expect(await shareRow(A.inst, X)).toBeUndefined();
    expect((await channelRow(A.inst, X))?.shared).toBe(false);
    expect((await systemPosts(A.inst, X)).at(-1)?.message).toBe('This channel is no longer shared.');
    expect(await shareRow(A.inst, Y)).toMatchObject({ home: true });
    expect((await channelRow(A.inst, Y))?.shared).toBe(true);
    expect(Number((await remoteRow(A.inst, Y, fed.remoteIds[1]))?.delete_at)).toBeGreaterThan(0);
    expect((await remoteRow(A.inst, Y, fed.remoteIds[2]))?.delete_at).toBe('0');
    expect((await systemPosts(A.inst, Y)).at(-1)?.message).toMatch(/is no longer part of this shared channel\.$/);
    expect(await shareRow(A.inst, Z)).toBeUndefined();
    expect((await channelRow(A.inst, Z))?.shared).toBe(false);
    // bert was only in X (shared with B alone); bob is in Y, still shared with C: he stays.
    const users = await A.inst.query<{ id: string; delete_at: string }>('SELECT id, delete_at FROM users WHERE id = ANY($1)', [[bob.id, bert.id]]);
    expect(Object.fromEntries(users.map((u) => [u.id, Number(u.delete_at) > 0]))).toEqual({ [bob.id]: false, [bert.id]: true });

    // B is told: X and Y (homed on A) are unshared there; Z (homed on B) no longer has A as a remote.
    await eventually(async () => {
      expect(await shareRow(B.inst, X)).toBeUndefined();
      expect(await shareRow(B.inst, Y)).toBeUndefined();
      expect(await shareRow(B.inst, Z)).toBeUndefined();
    }, { timeoutMs: 20_000 });
    expect((await channelRow(B.inst, X))?.shared).toBe(false);
    expect(Number((await remoteRow(B.inst, Z, fed.remoteIds[1]))?.delete_at)).toBeGreaterThan(0);
    expect((await remoteRow(A.inst, X, fed.remoteIds[1]))?.unshare_pending).toBe(false);

    // Y goes on between A and C, both ways; nothing more reaches B.
    const fromA = await createPost(A.inst, A.token, Y, 'after the deletion, from A');
    const fromC = await createPost(C.inst, carol.token, Y, 'after the deletion, from C');
    await eventually(async () => {
      expect(await postIds(C.inst, Y)).toContain(fromA.id);
      expect(await postIds(A.inst, Y)).toContain(fromC.id);
    }, { timeoutMs: 20_000 });
    expect(await postIds(B.inst, Y)).not.toContain(fromA.id);
    expect(await postIds(B.inst, Y)).not.toContain(fromC.id);
    expect(await shareRow(C.inst, Y)).toMatchObject({ home: false });
  });
});

describe('deleting a connection whose peer is down', () => {
  let p: SharedPair;

  beforeAll(async () => {
    p = await startSharedPair({ SYNC_DELAY_MS: '50' });
  }, 60_000);
  afterAll(async () => {
    await p?.a.destroy();
    await p?.b.destroy();
  });

  it('is done at once here; the peer is told when it is back (retried job)', async () => {
    const channel = await createChannel(p.a, p.adminA.token, p.adminA.teamId, 'peer-down');
    expect((await http(p.a, 'POST', `/api/v4/remotecluster/${p.remoteId}/channels/${channel}/invite`, { token: p.adminA.token })).body).toEqual({ status: 'OK' });
    await eventually(async () => expect(await shareRow(p.b, channel)).toBeDefined(), { timeoutMs: 15_000 });

    await p.b.stop();
    try {
      const res = await http(p.a, 'DELETE', `/api/v4/remotecluster/${p.remoteId}`, { token: p.adminA.token });
      expect(res.body).toEqual({ status: 'OK' });
      expect(await shareRow(p.a, channel)).toBeUndefined();
      expect((await remoteRow(p.a, channel, p.remoteId))?.unshare_pending).toBe(true);
    } finally {
      await p.b.start();
    }
    await eventually(async () => expect(await shareRow(p.b, channel)).toBeUndefined(), { timeoutMs: 45_000, intervalMs: 200 });
    expect((await channelRow(p.b, channel))?.shared).toBe(false);
    await eventually(async () => expect((await remoteRow(p.a, channel, p.remoteId))?.unshare_pending).toBe(false));
  }, 90_000);
});
