import { createChannel, createPost, createTeam } from '../../support/chat.js';
import { http, login } from '../../support/http.js';
import { startInstance, type Instance } from '../../support/instance.js';

const UNKNOWN = 'zzzzzzzzzzzzzzzzzzzzzzzzzz';
const MAX_FILE = 64 * 1024;

describe('bad input: clean 4xx with an AppError body, never 500, nothing half-written', () => {
  let a: Instance;
  let token: string;
  let channel: string;

  beforeAll(async () => {
    a = await startInstance('A', { MAX_FILE_SIZE: String(MAX_FILE) });
    token = await login(a);
    const team = await createTeam(a, token, 'bad-team');
    channel = await createChannel(a, token, team, 'bad-input');
  });
  afterAll(() => a?.destroy());

  async function counts() {
    const [row] = await a.query<Record<string, string>>(
      `SELECT (SELECT count(*) FROM posts) AS posts, (SELECT count(*) FROM reactions) AS reactions,
              (SELECT count(*) FROM file_infos) AS files, (SELECT count(*) FROM channels) AS channels,
              (SELECT count(*) FROM change_events) AS events`,
    );
    return row;
  }

  it('unknown ids are 404', async () => {
    for (const path of [
      `/api/v4/posts/${UNKNOWN}`,
      `/api/v4/channels/${UNKNOWN}`,
      `/api/v4/teams/${UNKNOWN}`,
      `/api/v4/users/${UNKNOWN}`,
      `/api/v4/files/${UNKNOWN}`,
      `/api/v4/files/${UNKNOWN}/info`,
      `/api/v4/posts/${UNKNOWN}/reactions`,
      `/api/v4/channels/${UNKNOWN}/posts`,
    ]) {
      const res = await http(a, 'GET', path, { token });
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(res.body).toMatchObject({ status_code: 404, request_id: expect.any(String), id: expect.any(String) });
    }
    const before = await counts();
    expect((await http(a, 'POST', '/api/v4/posts', { token, body: { channel_id: UNKNOWN, message: 'x' } })).status).toBe(404);
    expect((await http(a, 'POST', '/api/v4/reactions', { token, body: { user_id: (await me()).id, post_id: UNKNOWN, emoji_name: 'x' } })).status).toBe(404);
    expect(await counts()).toEqual(before);
  });

  async function me(): Promise<{ id: string }> {
    return (await http<{ id: string }>(a, 'GET', '/api/v4/users/me', { token })).body;
  }

  it('malformed ids are 400 naming the parameter', async () => {
    for (const path of ['/api/v4/posts/not-an-id', '/api/v4/channels/UPPERCASEUPPERCASEUPPERCAS', '/api/v4/files/123']) {
      const res = await http(a, 'GET', path, { token });
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(res.body.id).toBe('api.context.invalid_param.app_error');
    }
    const res = await http(a, 'POST', '/api/v4/posts', { token, body: { channel_id: 'nope', message: 'x' } });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('channel_id');
  });

  it('overlong messages are 400, counted in runes as Mattermost does, and nothing is stored', async () => {
    const before = await counts();
    const tooLong = await http(a, 'POST', '/api/v4/posts', { token, body: { channel_id: channel, message: 'x'.repeat(16384) } });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.id).toBe('model.post.is_valid.message_length.app_error');
    // 16383 astral characters are 32766 UTF-16 units but 16383 runes: allowed.
    const astral = await http(a, 'POST', '/api/v4/posts', { token, body: { channel_id: channel, message: '😀'.repeat(16383) } });
    expect(astral.status).toBe(201);
    const astralTooLong = await http(a, 'POST', '/api/v4/posts', { token, body: { channel_id: channel, message: '😀'.repeat(16384) } });
    expect(astralTooLong.status).toBe(400);
    const after = await counts();
    expect(Number(after.posts)).toBe(Number(before.posts) + 1);

    const post = await createPost(a, token, channel, 'short');
    const edit = await http(a, 'PUT', `/api/v4/posts/${post.id}/patch`, { token, body: { message: 'y'.repeat(16384) } });
    expect(edit.status).toBe(400);
    expect((await a.query<{ message: string }>('SELECT message FROM posts WHERE id = $1', [post.id]))[0].message).toBe('short');
  });

  it('wrong types, bad roots, bad file ids and bad emoji are 400 with nothing stored', async () => {
    const before = await counts();
    const cases: Array<[string, string, unknown]> = [
      ['POST', '/api/v4/posts', { channel_id: channel, message: 42 }],
      ['POST', '/api/v4/posts', { channel_id: channel, message: 'x', root_id: UNKNOWN }],
      ['POST', '/api/v4/posts', { channel_id: channel, message: 'x', file_ids: [UNKNOWN] }],
      ['POST', '/api/v4/posts', { channel_id: channel, message: 'x', file_ids: 'nope' }],
      ['POST', '/api/v4/posts', [1, 2, 3]],
      ['POST', '/api/v4/channels', { team_id: UNKNOWN.replace(/z/g, 'y'), name: 'Bad Name!', display_name: 'x', type: 'O' }],
      ['POST', '/api/v4/channels', { team_id: channel, name: 'ok-name', display_name: 'x', type: 'X' }],
      ['POST', '/api/v4/channels/direct', { not: 'an array' }],
      ['POST', '/api/v4/channels/group', ['abc']],
      ['POST', '/api/v4/users/ids', 'nope'],
      ['POST', '/api/v4/teams', { name: 'UPPER', display_name: 'x', type: 'O' }],
    ];
    for (const [method, path, body] of cases) {
      const res = await http(a, method, path, { token, body });
      expect({ path, body, status: res.status }).toEqual({ path, body, status: 400 });
      expect(res.body).toMatchObject({ status_code: 400 });
    }
    const post = await createPost(a, token, channel, 'react here');
    const badEmoji = await http(a, 'POST', '/api/v4/reactions', { token, body: { user_id: (await me()).id, post_id: post.id, emoji_name: 'no spaces' } });
    expect(badEmoji.status).toBe(400);
    const after = await counts();
    expect(Number(after.posts)).toBe(Number(before.posts) + 1);
    expect(after.reactions).toBe(before.reactions);
    expect(after.channels).toBe(before.channels);
  });

  it('an oversized upload is 413 while streaming, and no bytes or rows remain', async () => {
    const before = await counts();
    const form = new FormData();
    form.append('channel_id', channel);
    form.append('files', new Blob([Buffer.alloc(MAX_FILE + 1, 7)]), 'big.bin');
    const res = await fetch(`${a.url}/api/v4/files`, { method: 'POST', body: form, headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ id: 'api.file.upload_file.too_large_detailed.app_error', status_code: 413 });
    expect(await counts()).toEqual(before);
    const { readdir } = await import('node:fs/promises');
    const walk = async (dir: string): Promise<string[]> =>
      (await readdir(dir, { withFileTypes: true }).catch(() => [])).flatMap((d) => [d]).length
        ? (await Promise.all((await readdir(dir, { withFileTypes: true })).map((d) => (d.isDirectory() ? walk(`${dir}/${d.name}`) : [`${dir}/${d.name}`])))).flat()
        : [];
    expect(await walk(a.config.files.dir)).toEqual([]);

    const exact = new FormData();
    exact.append('channel_id', channel);
    exact.append('files', new Blob([Buffer.alloc(MAX_FILE, 7)]), 'exact.bin');
    const ok = await fetch(`${a.url}/api/v4/files`, { method: 'POST', body: exact, headers: { Authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(201);
  });

  it('an upload without channel or file, or not multipart, is 400 and leaves nothing', async () => {
    const before = await counts();
    const noChannel = new FormData();
    noChannel.append('files', new Blob(['x']), 'x.txt');
    const r1 = await fetch(`${a.url}/api/v4/files`, { method: 'POST', body: noChannel, headers: { Authorization: `Bearer ${token}` } });
    expect(r1.status).toBe(400);
    const noFile = new FormData();
    noFile.append('channel_id', channel);
    const r2 = await fetch(`${a.url}/api/v4/files`, { method: 'POST', body: noFile, headers: { Authorization: `Bearer ${token}` } });
    expect(r2.status).toBe(400);
    const r3 = await http(a, 'POST', '/api/v4/files', { token, body: { channel_id: channel } });
    expect(r3.status).toBe(400);
    const r4 = await http(a, 'POST', '/api/v4/files', { token, rawBody: '--xx\r\ngarbage', headers: { 'Content-Type': 'multipart/form-data; boundary=xx' } });
    expect(r4.status).toBe(400);
    expect(await counts()).toEqual(before);
  });

  it('a profile image that is not an image is 400 and the old one stays', async () => {
    const user = await me();
    const form = new FormData();
    form.append('image', new Blob(['definitely not a png']), 'x.png');
    const res = await fetch(`${a.url}/api/v4/users/${user.id}/image`, { method: 'POST', body: form, headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(400);
    const img = await http(a, 'GET', `/api/v4/users/${user.id}/image`, { token });
    expect(img.headers.get('content-type')).toBe('image/png');
  });
});
