import { addToChannel, addToTeam, createChannel, createPost, createTeam, createUser, type TestUser } from '../../support/chat.js';
import { http, login } from '../../support/http.js';
import { startInstance, type Instance } from '../../support/instance.js';

describe('chat permissions (as Mattermost)', () => {
  let a: Instance;
  let admin: string;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let team: string;
  let priv: string;
  let pub: string;

  beforeAll(async () => {
    a = await startInstance('A');
    admin = await login(a);
    alice = await createUser(a, admin, 'alice');
    bob = await createUser(a, admin, 'bob');
    carol = await createUser(a, admin, 'carol');
    team = await createTeam(a, alice.token, 'perm-team');
    await addToTeam(a, alice.token, team, bob.id);
    await addToTeam(a, alice.token, team, carol.id);
    priv = await createChannel(a, alice.token, team, 'secret', 'P');
    pub = await createChannel(a, alice.token, team, 'lobby', 'O');
    await addToChannel(a, alice.token, priv, bob.id);
    await addToChannel(a, alice.token, pub, bob.id);
  });
  afterAll(() => a?.destroy());

  it('a non-member can neither read nor post in a private channel, nor see it listed', async () => {
    const post = await createPost(a, alice.token, priv, 'for members only');
    for (const [method, path, body] of [
      ['GET', `/api/v4/channels/${priv}`, undefined],
      ['GET', `/api/v4/channels/${priv}/posts`, undefined],
      ['GET', `/api/v4/posts/${post.id}`, undefined],
      ['GET', `/api/v4/posts/${post.id}/thread`, undefined],
      ['GET', `/api/v4/posts/${post.id}/reactions`, undefined],
      ['GET', `/api/v4/channels/${priv}/members`, undefined],
      ['POST', '/api/v4/posts', { channel_id: priv, message: 'let me in' }],
      ['POST', '/api/v4/reactions', { user_id: carol.id, post_id: post.id, emoji_name: 'smile' }],
      ['POST', `/api/v4/channels/${priv}/members`, { user_id: carol.id }],
    ] as const) {
      const res = await http(a, method, path, { token: carol.token, body });
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
      expect(res.body).toMatchObject({ id: 'api.context.permissions.app_error', status_code: 403 });
    }
    const listed = await http<Array<{ id: string }>>(a, 'GET', `/api/v4/users/me/teams/${team}/channels`, { token: carol.token });
    expect(listed.body.map((c) => c.id)).not.toContain(priv);
    expect(await a.query('SELECT id FROM posts WHERE message = $1', ['let me in'])).toHaveLength(0);
  });

  it('team members may read a public channel but must join to post', async () => {
    await createPost(a, alice.token, pub, 'public news');
    expect((await http(a, 'GET', `/api/v4/channels/${pub}/posts`, { token: carol.token })).status).toBe(200);
    expect((await http(a, 'POST', '/api/v4/posts', { token: carol.token, body: { channel_id: pub, message: 'hi' } })).status).toBe(403);
    await addToChannel(a, carol.token, pub, carol.id);
    expect((await http(a, 'POST', '/api/v4/posts', { token: carol.token, body: { channel_id: pub, message: 'hi' } })).status).toBe(201);
  });

  it('only the author or a system admin edits or deletes a post', async () => {
    const post = await createPost(a, alice.token, pub, 'original');
    const byBob = await http(a, 'PUT', `/api/v4/posts/${post.id}/patch`, { token: bob.token, body: { message: 'hijacked' } });
    expect(byBob.status).toBe(403);
    expect((await http(a, 'PUT', `/api/v4/posts/${post.id}`, { token: bob.token, body: { id: post.id, message: 'hijacked' } })).status).toBe(403);
    expect((await http(a, 'DELETE', `/api/v4/posts/${post.id}`, { token: bob.token })).status).toBe(403);
    expect((await a.query<{ message: string; delete_at: string }>('SELECT message, delete_at FROM posts WHERE id = $1', [post.id]))[0]).toEqual({
      message: 'original',
      delete_at: '0',
    });

    const byAuthor = await http<{ message: string }>(a, 'PUT', `/api/v4/posts/${post.id}/patch`, { token: alice.token, body: { message: 'edited by alice' } });
    expect(byAuthor.body.message).toBe('edited by alice');
    const byAdmin = await http<{ message: string }>(a, 'PUT', `/api/v4/posts/${post.id}/patch`, { token: admin, body: { message: 'edited by admin' } });
    expect(byAdmin.status).toBe(200);
    expect((await http(a, 'DELETE', `/api/v4/posts/${post.id}`, { token: admin })).status).toBe(200);
    expect((await http(a, 'GET', `/api/v4/posts/${post.id}`, { token: alice.token })).status).toBe(404);
  });

  it('a user cannot react or acknowledge as someone else, not even an admin', async () => {
    const post = await createPost(a, alice.token, pub, 'react to me');
    const asAlice = await http(a, 'POST', '/api/v4/reactions', { token: bob.token, body: { user_id: alice.id, post_id: post.id, emoji_name: 'smile' } });
    expect(asAlice.status).toBe(403);
    const adminAsBob = await http(a, 'POST', '/api/v4/reactions', { token: admin, body: { user_id: bob.id, post_id: post.id, emoji_name: 'smile' } });
    expect(adminAsBob.status).toBe(403);
    expect((await http(a, 'POST', `/api/v4/users/${alice.id}/posts/${post.id}/ack`, { token: bob.token })).status).toBe(403);
    const bobReacts = await http(a, 'POST', '/api/v4/reactions', { token: bob.token, body: { user_id: bob.id, post_id: post.id, emoji_name: 'smile' } });
    expect(bobReacts.status).toBe(200);
    expect((await http(a, 'DELETE', `/api/v4/users/${bob.id}/posts/${post.id}/reactions/smile`, { token: alice.token })).status).toBe(403);
    const rows = await a.query<{ user_id: string }>('SELECT user_id FROM reactions WHERE post_id = $1 AND delete_at = 0', [post.id]);
    expect(rows.map((r) => r.user_id)).toEqual([bob.id]);
  });

  it('only the user or an admin changes a profile or status', async () => {
    expect((await http(a, 'PUT', `/api/v4/users/${alice.id}/patch`, { token: bob.token, body: { nickname: 'x' } })).status).toBe(403);
    expect((await http(a, 'PUT', `/api/v4/users/${alice.id}/status`, { token: bob.token, body: { user_id: alice.id, status: 'away' } })).status).toBe(403);
    expect((await http(a, 'PUT', `/api/v4/users/${alice.id}/patch`, { token: admin, body: { nickname: 'Al' } })).status).toBe(200);
  });

  it('a non-member cannot download a file of a private channel', async () => {
    const form = new FormData();
    form.append('channel_id', priv);
    form.append('files', new Blob(['secret bytes']), 'secret.txt');
    const up = await fetch(`${a.url}/api/v4/files`, { method: 'POST', body: form, headers: { Authorization: `Bearer ${alice.token}` } });
    expect(up.status).toBe(201);
    const fileId = ((await up.json()) as { file_infos: Array<{ id: string }> }).file_infos[0].id;
    expect((await http(a, 'GET', `/api/v4/files/${fileId}`, { token: carol.token })).status).toBe(403);
    expect((await http(a, 'GET', `/api/v4/files/${fileId}/info`, { token: carol.token })).status).toBe(403);
    expect((await http(a, 'GET', `/api/v4/files/${fileId}`, { token: bob.token })).text).toBe('secret bytes');
  });
});
