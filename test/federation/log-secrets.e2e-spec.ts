import { newId } from '../../src/common/ids.js';
import { defaultAvatarPng } from '../../src/modules/chat/users/default-avatar.js';
import { decryptInvite } from '../../src/modules/remote-cluster/invite-crypto.js';
import { addToChannel, addToTeam, createChannel, createPost } from '../support/chat.js';
import { startChildInstance, type ChildInstance } from '../support/child-instance.js';
import { eventually } from '../support/eventually.js';
import { FAST_FEDERATION_ENV } from '../support/federation.js';
import { imageForm, uploadFile } from '../support/files.js';
import { http } from '../support/http.js';
import { TEST_ADMIN } from '../support/instance.js';
import { adminWithTeam, remoteHeaders, storedRemote, type AdminSide } from '../support/remote-cluster.js';

/**
 * A full federation run between two built servers logging at trace level, then every line they wrote is searched
 * for every secret the run handled: passwords (admin, users, invite), session tokens (also the cookie values),
 * a personal access token, the invite code and its token, and each connection token before and after a rotation.
 * Requests are made the careless ways too: tokens in query strings, wrong tokens in headers.
 */
describe('no secret in any log line of a federation run', () => {
  let a: ChildInstance;
  let b: ChildInstance;
  const secrets = new Map<string, string>();

  function remember(what: string, value: string | null | undefined): string {
    if (!value || value.length < 8) throw new Error(`secret ${what} is missing or too short to search for`);
    secrets.set(value, what);
    return value;
  }

  async function loginAs(side: ChildInstance, username: string, password: string): Promise<string> {
    const res = await http(side, 'POST', '/api/v4/users/login', { body: { login_id: username, password } });
    expect(res.status).toBe(200);
    const token = remember(`${side.name} session of ${username}`, res.headers.get('token'));
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('MMAUTHTOKEN='))!;
    remember(`${side.name} cookie of ${username}`, cookie.split(';')[0].slice('MMAUTHTOKEN='.length));
    return token;
  }

  async function userOn(side: AdminSide, username: string, channelId?: string): Promise<{ id: string; token: string }> {
    const password = remember(`${side.inst.name} password of ${username}`, `${username}-Secret-pw-${newId().slice(0, 6)}`);
    const created = await http<{ id: string }>(side.inst, 'POST', '/api/v4/users', {
      token: side.token,
      body: { username, email: `${username}@example.com`, password },
    });
    expect(created.status).toBe(201);
    await addToTeam(side.inst, side.token, side.teamId, created.body.id);
    if (channelId) await addToChannel(side.inst, side.token, channelId, created.body.id);
    return { id: created.body.id, token: await loginAs(side.inst as ChildInstance, username, password) };
  }

  beforeAll(async () => {
    const env = { ...FAST_FEDERATION_ENV, LOG_LEVEL: 'trace' };
    [a, b] = await Promise.all([startChildInstance('A', env), startChildInstance('B', env)]);
    remember('admin password', TEST_ADMIN.password);
  }, 240_000);
  afterAll(() => Promise.all([a?.destroy(), b?.destroy()]));

  it('handles every secret of a federation run without writing one to the log', async () => {
    const [adminA, adminB] = await Promise.all([adminWithTeam(a), adminWithTeam(b)]);
    remember('A admin session', adminA.token);
    remember('B admin session', adminB.token);
    await loginAs(a, TEST_ADMIN.username, TEST_ADMIN.password);

    // A secure connection: a wrong password first, then the right one.
    const invitePassword = remember('invite password', `invite-${newId()}`);
    const created = await http(a, 'POST', '/api/v4/remotecluster', {
      token: adminA.token,
      body: { name: 'to-b', default_team_id: adminA.teamId, password: invitePassword },
    });
    expect(created.status).toBe(201);
    const remoteId = created.body.remote_cluster.remote_id as string;
    remember('invite code', created.body.invite);
    remember('invite token', (await decryptInvite(created.body.invite, invitePassword)).token);
    const accept = (password: string) =>
      http(b, 'POST', '/api/v4/remotecluster/accept_invite', {
        token: adminB.token,
        body: { name: 'to-a', default_team_id: adminB.teamId, invite: created.body.invite, password },
      });
    remember('wrong invite password', 'not-the-invite-password');
    expect((await accept('not-the-invite-password')).status).toBe(400);
    expect((await accept(invitePassword)).status).toBe(201);
    const tokens = async (when: string) => {
      remember(`A->B token ${when}`, (await storedRemote(a, remoteId)).remote_token);
      remember(`B->A token ${when}`, (await storedRemote(b, remoteId)).remote_token);
    };
    await tokens('after the handshake');
    await eventually(async () => expect(Number((await storedRemote(a, remoteId)).last_ping_at)).toBeGreaterThan(0), { timeoutMs: 15_000 });

    // A shared channel with traffic both ways: posts, a file, a reaction, a profile image.
    const channel = await createChannel(a, adminA.token, adminA.teamId, 'logged');
    const invited = await http(a, 'POST', `/api/v4/remotecluster/${remoteId}/channels/${channel}/invite`, { token: adminA.token });
    expect(invited.status).toBe(200);
    await eventually(async () => expect(await b.query('SELECT 1 FROM shared_channels WHERE channel_id = $1', [channel])).toHaveLength(1), { timeoutMs: 15_000 });
    const [{ team_id: teamOnB }] = await b.query<{ team_id: string }>('SELECT team_id FROM channels WHERE id = $1', [channel]);
    const alice = await userOn(adminA, 'alice-log', channel);
    const bob = await userOn({ ...adminB, teamId: teamOnB }, 'bob-log', channel);
    const file = await uploadFile(a, alice.token, channel, 'notes.txt', Buffer.from('attached notes'));
    const post = await createPost(a, alice.token, channel, 'with a file', { file_ids: [file.id] });
    await createPost(b, bob.token, channel, 'hello from B');
    const form = imageForm(defaultAvatarPng(alice.id));
    expect((await http(a, 'POST', `/api/v4/users/${alice.id}/image`, { token: alice.token, rawBody: form.body, headers: { 'Content-Type': form.contentType } })).status).toBe(200);
    await eventually(async () => expect(await b.query('SELECT id FROM posts WHERE id = $1', [post.id])).toHaveLength(1), { timeoutMs: 20_000 });
    await eventually(async () => expect(await b.query('SELECT id FROM file_infos WHERE id = $1', [file.id])).toHaveLength(1), { timeoutMs: 20_000 });
    expect((await http(b, 'POST', '/api/v4/reactions', { token: bob.token, body: { user_id: bob.id, post_id: post.id, emoji_name: 'tada' } })).status).toBe(200);

    // A personal access token, and the careless ways to present credentials.
    const pat = await http(a, 'POST', '/api/v4/users/me/tokens', { token: adminA.token, body: { description: 'log test' } });
    remember('personal access token', pat.body.token);
    expect((await http(a, 'GET', '/api/v4/users/me', { token: pat.body.token })).status).toBe(200);
    expect((await http(a, 'GET', `/api/v4/users/me?access_token=${alice.token}`)).status).toBe(401);
    expect((await http(a, 'GET', `/api/v4/channels/${channel}/posts?access_token=${pat.body.token}&page=0`)).status).toBe(401);
    expect((await http(a, 'GET', `/admin/queues?access_token=${adminA.token}`)).status).toBe(200);
    expect((await http(a, 'GET', `/no/such/route?token=${alice.token}&password=${invitePassword}`)).status).toBe(404);
    expect((await http(a, 'GET', '/api/v4/users/me', { headers: { Cookie: `MMAUTHTOKEN=${bob.token}` } })).status).toBe(401);
    const forged = remember('forged peer token', newId());
    const ping = JSON.stringify({ remote_id: remoteId, msg: { id: newId(), topic: 'ping', create_at: Date.now(), payload: { sent_at: 1 } } });
    expect((await http(a, 'POST', '/api/v4/remotecluster/ping', { headers: remoteHeaders(remoteId, forged), rawBody: ping })).status).toBe(401);

    // New connection tokens both ways, then traffic with them.
    expect((await http(a, 'POST', `/api/v4/remotecluster/${remoteId}/rotate_token`, { token: adminA.token })).status).toBe(200);
    await tokens('after the rotation');
    const late = await createPost(b, bob.token, channel, 'after the rotation');
    await eventually(async () => expect(await a.query('SELECT id FROM posts WHERE id = $1', [late.id])).toHaveLength(1), { timeoutMs: 20_000 });
    expect((await http(a, 'POST', '/api/v4/users/logout', { token: alice.token })).status).toBe(200);

    // Let the last log lines reach the pipes.
    await a.stop();
    await b.stop();
    const lines = [...a.output().split('\n'), ...b.output().split('\n')].filter(Boolean);
    // The log is not empty: requests, handshakes and syncs at trace level.
    expect(lines.length).toBeGreaterThan(200);
    expect(lines.some((l) => l.includes('secure connection confirmed'))).toBe(true);
    expect(lines.some((l) => l.includes('/api/v4/users/login'))).toBe(true);
    expect(lines.some((l) => l.includes('/api/v4/remotecluster/msg'))).toBe(true);

    const leaks: string[] = [];
    for (const line of lines) {
      for (const [value, what] of secrets) if (line.includes(value)) leaks.push(`${what}: ${line.slice(0, 300)}`);
    }
    console.info(`${lines.length} log lines searched for ${secrets.size} secrets`);
    expect(leaks).toEqual([]);
  }, 180_000);
});
