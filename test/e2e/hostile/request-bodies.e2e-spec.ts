import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { brotliCompressSync, constants as zlib, deflateSync, gzipSync } from 'node:zlib';
import { startChildInstance, type ChildInstance } from '../../support/child-instance.js';
import { createChannel, createTeam } from '../../support/chat.js';
import { eventually } from '../../support/eventually.js';
import { http, login } from '../../support/http.js';

/** Bytes of a JSON array of `n` empty objects: 3 bytes each on the wire, tens of bytes each once parsed. */
function objectArray(n: number): Buffer {
  return Buffer.from(`[${'{},'.repeat(n - 1)}{}]`);
}

/** Every regular file below `dir`. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** Sends `head` and then nothing more, holding the socket open; resolves with the status line the server answers. */
function stalledRequest(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1', () => socket.write(head));
    let got = '';
    socket.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes('\r\n')) {
        resolve(got.split('\r\n')[0]);
        socket.destroy();
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(got.split('\r\n')[0] ?? ''));
  });
}

/** A POST whose body is `body`, declared `declaredLength` long; the socket is cut once the body is written. */
function truncatedPost(url: string, headers: Record<string, string>, body: Buffer, declaredLength: number): Promise<void> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'Content-Length': String(declaredLength) } });
    req.on('error', () => resolve());
    req.on('response', (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.write(body, () => setTimeout(() => req.destroy(), 50));
  });
}

/**
 * Request bodies from a hostile client, against the built server in its own process with `npm start`'s 256 MiB heap
 * cap: each answer is one clean 4xx and the process stays up. Each of these took the server down or answered 500
 * before the limits existed.
 */
describe('hostile request bodies', () => {
  let a: ChildInstance;
  let token: string;
  let channelId: string;
  const port = () => Number(new URL(a.url).port);

  beforeAll(async () => {
    a = await startChildInstance('A', { HTTP_IDLE_TIMEOUT_MS: '1500' });
    token = await login(a);
    channelId = await createChannel(a, token, await createTeam(a, token, 'hostile'), 'hostile');
  }, 240_000);
  afterAll(() => a?.destroy());
  // A test that took the process down must not take the next ones with it.
  afterEach(async () => {
    const up = await fetch(`${a.url}/api/v4/system/ping`).then((r) => r.ok, () => false);
    if (up) return;
    await a.kill();
    await a.start();
  }, 60_000);

  async function expectAlive(): Promise<void> {
    expect(a.running()).toBe(true);
    expect((await http(a, 'GET', '/api/v4/system/ping')).status).toBe(200);
  }

  it('a compressed JSON body of a few KB sent to an unauthenticated route is refused with 415, not inflated', async () => {
    const inflated = objectArray(5_500_000); // 16 MiB inflated
    const bodies: Array<[string, Buffer]> = [
      ['br', brotliCompressSync(inflated, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } })],
      ['gzip', gzipSync(inflated, { level: 9 })],
      ['deflate', deflateSync(inflated, { level: 9 })],
    ];
    expect(bodies[0][1].length).toBeLessThan(10_000);
    for (const [encoding, body] of bodies) {
      const res = await http(a, 'POST', '/api/v4/users/login', {
        rawBody: body,
        headers: { 'Content-Type': 'application/json', 'Content-Encoding': encoding },
      });
      expect({ encoding, status: res.status }).toEqual({ encoding, status: 415 });
      expect(res.body).toMatchObject({ status_code: 415, request_id: expect.any(String) });
      await expectAlive();
    }
  });

  it('a JSON body over the client API limit is 413; the same bytes of hostile structure never reach the parser', async () => {
    const res = await http(a, 'POST', '/api/v4/users/login', { rawBody: objectArray(500_000), headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ id: 'api.context.request_body_too_large.app_error', status_code: 413 });
    await expectAlive();
  });

  it('a deeply nested unknown field is 400 before any DTO transformation', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    for (const [path, body] of [
      ['/api/v4/posts', `{"channel_id":"${channelId}","message":"hi","extra":${deep}}`],
      ['/api/v4/users/login', `{"login_id":"x","password":"y","extra":${deep}}`],
      ['/api/v4/posts', `{"channel_id":"${channelId}","message":"hi","props":{"a":${'{"a":'.repeat(65)}1${'}'.repeat(65)}}}`],
    ] as const) {
      const res = await http(a, 'POST', path, { token, rawBody: body, headers: { 'Content-Type': 'application/json' } });
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(res.body).toMatchObject({ status_code: 400, request_id: expect.any(String) });
    }
    await expectAlive();
  });

  it('an upload whose multipart body ends early is 400, leaves no file, and the process stays up', async () => {
    const boundary = `b${randomBytes(6).toString('hex')}`;
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="channel_id"\r\n\r\n${channelId}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    );
    // The body ends in the middle of the file part: no closing boundary.
    const body = Buffer.concat([head, randomBytes(4096)]);
    const filesBefore = await filesUnder(a.filesDir);
    const [{ n: infosBefore }] = await a.query<{ n: string }>('SELECT count(*) AS n FROM file_infos');
    const res = await http(a, 'POST', '/api/v4/files', {
      token,
      rawBody: body,
      headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status_code: 400, request_id: expect.any(String) });
    await expectAlive();

    // A second file part arriving while the first is still being stored, then the end of the form.
    const twoParts = Buffer.concat([
      head,
      randomBytes(200_000),
      Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="b.bin"\r\n\r\n`),
      randomBytes(100),
    ]);
    const res2 = await http(a, 'POST', '/api/v4/files', {
      token,
      rawBody: twoParts,
      headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
    });
    expect(res2.status).toBe(400);
    await expectAlive();

    // The client cuts the connection half-way through a declared body.
    await truncatedPost(`${a.url}/api/v4/files`, { Authorization: `Bearer ${token}`, 'Content-Type': `multipart/form-data; boundary=${boundary}` }, body, body.length * 4);
    await expectAlive();
    expect((await a.query<{ n: string }>('SELECT count(*) AS n FROM file_infos'))[0].n).toBe(infosBefore);
    // Nothing stored: no file, and no temporary left behind by the parts that were cut off.
    expect(await filesUnder(a.filesDir)).toEqual(filesBefore);
  });

  it('multipart fields named like Object.prototype members are fields like any other (found by the fuzz suite: the process died)', async () => {
    const boundary = `b${randomBytes(6).toString('hex')}`;
    const parts = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'channel_id']
      .map((name) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${name === 'channel_id' ? channelId : 'x'}\r\n`)
      .join('');
    const body = Buffer.from(
      `${parts}--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="f.txt"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--${boundary}--\r\n`,
    );
    const res = await http(a, 'POST', '/api/v4/files', { token, rawBody: body, headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` } });
    expect(res.status).toBe(201);
    await expectAlive();
  });

  it('null for an optional field is the field left out, never a NULL for a NOT NULL column (found by the fuzz suite: 500)', async () => {
    const post = await http(a, 'POST', '/api/v4/posts', {
      token,
      body: { channel_id: channelId, message: 'nulls around', root_id: null, file_ids: null, props: null, pending_post_id: null },
    });
    expect(post.status).toBe(201);
    const patched = await http(a, 'PUT', `/api/v4/posts/${post.body.id}/patch`, { token, body: { is_pinned: null, message: null, props: null, file_ids: null } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ message: 'nulls around', is_pinned: false });
    // A required field sent as null is missing: 400 naming it.
    const missing = await http(a, 'POST', '/api/v4/posts', { token, body: { channel_id: channelId, message: null } });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toContain('message');
  });

  it('a body that stalls is answered 408 once the connection has been idle for HTTP_IDLE_TIMEOUT_MS', async () => {
    const status = await stalledRequest(
      port(),
      `POST /api/v4/users/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"login_id":`,
    );
    expect(status).toBe('HTTP/1.1 408 Request Timeout');
    await expectAlive();

    // An upload that stalls inside its file: 408, and the partial file goes too (its reader is told the body ended).
    const before = await filesUnder(a.filesDir);
    const boundary = `b${randomBytes(6).toString('hex')}`;
    const head =
      `--${boundary}\r\nContent-Disposition: form-data; name="channel_id"\r\n\r\n${channelId}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="stalled.bin"\r\n\r\n${'x'.repeat(2_000)}`;
    const upload = await stalledRequest(
      port(),
      `POST /api/v4/files HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${head.length + 10_000}\r\n\r\n${head}`,
    );
    expect(upload).toBe('HTTP/1.1 408 Request Timeout');
    await eventually(async () => expect(await filesUnder(a.filesDir)).toEqual(before), { timeoutMs: 10_000 });
    await expectAlive();
  }, 30_000);
});
