import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request } from 'node:http';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import type { Instance } from './instance.js';

/** Writes `size` random bytes to `path` a MiB at a time (never the whole file in memory); returns its SHA-256. */
export async function writeRandomFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let written = 0; written < size; ) {
    const chunk = randomBytes(Math.min(1024 * 1024, size - written));
    hash.update(chunk);
    written += chunk.length;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
  return hash.digest('hex');
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * POST /api/v4/files with one part `files`, streamed from `content` (a path on disk, or bytes): the client's own
 * upload, through the real multipart endpoint. Returns the FileInfo.
 */
export async function uploadFile(inst: Instance, token: string, channelId: string, name: string, content: string | Buffer): Promise<{ id: string; size: number }> {
  const boundary = `test${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="channel_id"\r\n\r\n${channelId}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const size = typeof content === 'string' ? (await stat(content)).size : content.length;
  const body = Readable.from(
    (async function* () {
      yield head;
      if (typeof content === 'string') for await (const c of createReadStream(content)) yield c as Buffer;
      else yield content;
      yield tail;
    })(),
  );
  const url = new URL('/api/v4/files', inst.url);
  const text = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': `multipart/form-data; boundary=${boundary}`,
          'Content-Length': head.length + size + tail.length,
        },
      },
      (res) => {
        let t = '';
        res.on('data', (c: Buffer) => (t += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: t }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    body.pipe(req);
  });
  if (text.status !== 201 && text.status !== 200) throw new Error(`upload failed: ${text.status} ${text.text}`);
  return (JSON.parse(text.text) as { file_infos: Array<{ id: string; size: number }> }).file_infos[0];
}

/** GET /api/v4/files/{id}, hashed as it streams: {status, size, sha256}. */
export async function downloadSha256(inst: Instance, token: string, fileId: string): Promise<{ status: number; size: number; sha256: string }> {
  const res = await fetch(`${inst.url}/api/v4/files/${fileId}`, { headers: { Authorization: `Bearer ${token}` } });
  const hash = createHash('sha256');
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      size += chunk.length;
    }
  }
  return { status: res.status, size, sha256: hash.digest('hex') };
}

/** A multipart body with one part `image` (as the profile-image routes take it). */
export function imageForm(png: Buffer): { body: Buffer; contentType: string } {
  const boundary = `img${randomBytes(8).toString('hex')}`;
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="profile.png"\r\nContent-Type: image/png\r\n\r\n`),
    png,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}
