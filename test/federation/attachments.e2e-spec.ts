import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { newId } from '../../src/common/ids.js';
import { createChannel, createPost } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { type Federation, memberOf, shareWith, startFederation } from '../support/federation.js';
import { downloadSha256, uploadFile, writeRandomFile } from '../support/files.js';
import { http } from '../support/http.js';
import { startProxiedFederation } from '../support/proxied-federation.js';
import { metricValue, storedRemote } from '../support/remote-cluster.js';
import { sendFrame } from '../support/shared-channel.js';
import type { ThrottleProxy } from '../support/throttle-proxy.js';

const MiB = 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (options?: { type: 'major' | 'minor' }) => void;

/** Rows of B's file_infos for these ids, once all of them exist. */
async function filesOn(fed: Federation, i: number, ids: string[]) {
  return eventually(async () => {
    const rows = await fed.sides[i].inst.query<{ id: string; size: string; post_id: string; remote_id: string; content_hash: string }>(
      'SELECT id, size, post_id, remote_id, content_hash FROM file_infos WHERE id = ANY($1)',
      [ids],
    );
    expect(rows).toHaveLength(ids.length);
    return rows;
  }, { timeoutMs: 60_000, intervalMs: 50 });
}

describe('attachments across servers', () => {
  let fed: Federation;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mmfed-attach-'));
    fed = await startFederation(1);
  }, 60_000);
  afterAll(async () => {
    await fed?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('a post with two attachments (one of 20 MB) arrives on B with both files byte-identical, streamed without buffering', async () => {
    const [A, B] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'with-files');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice', channel);

    const bigPath = join(dir, 'big.bin');
    const bigHash = await writeRandomFile(bigPath, 20 * MiB);
    const smallPath = join(dir, 'notes.txt');
    const smallHash = await writeRandomFile(smallPath, 300 * 1024);
    const big = await uploadFile(A.inst, alice.token, channel, 'big.bin', bigPath);
    const small = await uploadFile(A.inst, alice.token, channel, 'notes.txt', smallPath);
    expect(big.size).toBe(20 * MiB);

    // Both servers run in this process, so if either held the file in memory (a Buffer.concat of the body, say),
    // this process would hold about 20 MiB more at some point of the transfer. Sampling memoryUsage() alone cannot
    // tell live bytes from chunks already streamed and waiting for the collector (V8 frees Buffers lazily, so the
    // raw arrayBuffers figure climbs past 20 MiB even when at most a few 64 KiB chunks are alive at once). So every
    // other sample first runs a young-generation collection, which frees the dead chunks in about a millisecond;
    // a sample still above 4 MiB after it (a chunk promoted before it died) is taken again after a full
    // collection. Those "live" samples are what the bytes really occupy.
    gc();
    const before = process.memoryUsage();
    const peak = { heapUsed: 0, arrayBuffers: 0, rss: 0, rawArrayBuffers: 0 };
    let tick = 0;
    const sampler = setInterval(() => {
      const raw = process.memoryUsage();
      peak.rss = Math.max(peak.rss, raw.rss - before.rss);
      peak.rawArrayBuffers = Math.max(peak.rawArrayBuffers, raw.arrayBuffers - before.arrayBuffers);
      if (++tick % 2) return;
      gc({ type: 'minor' });
      let m = process.memoryUsage();
      if (Math.max(m.arrayBuffers - before.arrayBuffers, m.heapUsed - before.heapUsed) > 4 * MiB) {
        gc();
        m = process.memoryUsage();
      }
      peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed - before.heapUsed);
      peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers - before.arrayBuffers);
    }, 10);
    const started = Date.now();
    const post = await createPost(A.inst, alice.token, channel, 'the report and my notes', { file_ids: [big.id, small.id] });
    const rows = await filesOn(fed, 1, [big.id, small.id]);
    const elapsedMs = Date.now() - started;
    clearInterval(sampler);
    gc();
    const retained = (process.memoryUsage().heapUsed - before.heapUsed) / MiB;
    const mib = (v: number) => Number((v / MiB).toFixed(1));
    console.info(
      `20 MiB + 300 KiB from A to B in ${elapsedMs} ms (${((20.3 * 1000) / elapsedMs).toFixed(1)} MiB/s from the post on A to both files ` +
        `on B, sampling with GCs); peak growth in MiB: live heapUsed ${mib(peak.heapUsed)}, live arrayBuffers ${mib(peak.arrayBuffers)}, ` +
        `rss ${mib(peak.rss)}, arrayBuffers incl. garbage ${mib(peak.rawArrayBuffers)} (${Math.floor(tick / 2)} live samples); retained heap ${retained.toFixed(1)}`,
    );
    expect(tick).toBeGreaterThanOrEqual(6);
    // Well below the file's 20 MiB: the bytes went from A's disk to B's disk a chunk at a time.
    expect(peak.heapUsed).toBeLessThan(10 * MiB);
    expect(peak.arrayBuffers).toBeLessThan(10 * MiB);
    expect(retained).toBeLessThan(5);

    // Same ids on B, owned by A's connection, attached to the post, and byte for byte the same.
    for (const r of rows) expect(r).toMatchObject({ remote_id: fed.remoteIds[1] });
    // The post follows its files and claims them.
    await eventually(async () => {
      const attached = await B.inst.query<{ post_id: string }>('SELECT post_id FROM file_infos WHERE id = ANY($1)', [[big.id, small.id]]);
      expect(attached.map((r) => r.post_id)).toEqual([post.id, post.id]);
    });
    expect(Number(rows.find((r) => r.id === big.id)!.size)).toBe(20 * MiB);
    expect(rows.find((r) => r.id === big.id)!.content_hash).toBe(bigHash);
    const bob = await memberOf(B, 'bob', channel);
    expect(await downloadSha256(B.inst, bob.token, big.id)).toEqual({ status: 200, size: 20 * MiB, sha256: bigHash });
    expect(await downloadSha256(B.inst, bob.token, small.id)).toEqual({ status: 200, size: 300 * 1024, sha256: smallHash });
    const [postOnB] = await B.inst.query<{ file_ids: string[] }>('SELECT file_ids FROM posts WHERE id = $1', [post.id]);
    expect(postOnB.file_ids).toEqual([big.id, small.id]);
    const onB = await http(B.inst, 'GET', `/api/v4/posts/${post.id}`, { token: bob.token });
    expect(onB.body.metadata.files.map((f: { id: string }) => f.id).sort()).toEqual([big.id, small.id].sort());

    // Sent once: an edit of the post goes out without its files.
    expect(await metricValue(A.inst, 'shared_channels_attachments_sent_total', { result: 'ok' })).toBe(2);
    await http(A.inst, 'PUT', `/api/v4/posts/${post.id}/patch`, { token: alice.token, body: { message: 'the report (final)' } });
    await eventually(async () => {
      expect((await B.inst.query('SELECT message FROM posts WHERE id = $1', [post.id]))[0].message).toBe('the report (final)');
    });
    expect(await metricValue(A.inst, 'shared_channels_attachments_sent_total', { result: 'ok' })).toBe(2);
    // No partial upload left behind on B.
    expect(await readdir(join(B.inst.config.files.dir, 'uploads'))).toEqual([]);
  }, 120_000);
});

describe('an attachment transfer cut off half-way', () => {
  let fed: Federation;
  let proxy: ThrottleProxy;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mmfed-resume-'));
    // B takes files up to 10 MiB; A's limit stays at the default 100 MiB.
    ({ fed, proxy } = await startProxiedFederation({}, { MAX_FILE_SIZE: String(10 * MiB) }));
  }, 60_000);
  afterAll(async () => {
    await fed?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('B stopped in the middle of a large transfer, then started: the transfer resumes from its offset and the file is intact', async () => {
    const [A, B] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'resume');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice', channel);
    const size = 8 * MiB;
    const path = join(dir, 'large.bin');
    const hash = await writeRandomFile(path, size);
    const file = await uploadFile(A.inst, alice.token, channel, 'large.bin', path);

    // The network to B slows to 2 MiB/s; when B holds a quarter of the file, the connection is cut and B stops.
    proxy.rate = 2 * MiB;
    const uploads = join(B.inst.config.files.dir, 'uploads');
    await createPost(A.inst, alice.token, channel, 'large file', { file_ids: [file.id] });
    const partial = await eventually(async () => {
      const names = await readdir(uploads).catch(() => [] as string[]);
      expect(names).toHaveLength(1);
      const held = (await stat(join(uploads, names[0]))).size;
      expect(held).toBeGreaterThanOrEqual(size / 4);
      return join(uploads, names[0]);
    }, { timeoutMs: 30_000, intervalMs: 20 });
    proxy.cutAll();
    await B.inst.stop();
    const offset = (await stat(partial)).size;
    expect(offset).toBeGreaterThanOrEqual(size / 4);
    expect(offset).toBeLessThan(size);

    proxy.rate = null;
    proxy.bytesUp = 0;
    await B.inst.start();
    const [row] = await eventually(async () => {
      const rows = await B.inst.query<{ id: string; size: string; content_hash: string }>('SELECT id, size, content_hash FROM file_infos WHERE id = $1', [file.id]);
      expect(rows).toHaveLength(1);
      return rows;
    }, { timeoutMs: 60_000, intervalMs: 100 });
    expect(row.content_hash).toBe(hash);

    // After the restart B received only the rest, and A resumed rather than starting again.
    const receivedAfter = await metricValue(B.inst, 'shared_channels_upload_bytes_received_total');
    console.info(`cut at ${offset} of ${size} bytes; after the restart B received ${receivedAfter} bytes (${proxy.bytesUp} bytes crossed the proxy in all)`);
    expect(receivedAfter).toBe(size - offset);
    expect(proxy.bytesUp).toBeLessThan(size - offset + 256 * 1024);
    expect(await metricValue(A.inst, 'shared_channels_attachment_resumes_total')).toBeGreaterThanOrEqual(1);
    const bob = await memberOf(B, 'bob', channel);
    expect(await downloadSha256(B.inst, bob.token, file.id)).toEqual({ status: 200, size, sha256: hash });
  }, 120_000);

  it('a file larger than B\'s MAX_FILE_SIZE is refused with a clear error; the post still arrives', async () => {
    const [A, B] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'too-big');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice-big', channel);
    const path = join(dir, 'twelve-mib.bin');
    await writeRandomFile(path, 12 * MiB);
    const file = await uploadFile(A.inst, alice.token, channel, 'twelve-mib.bin', path);
    const post = await createPost(A.inst, alice.token, channel, 'too big for B', { file_ids: [file.id] });
    await eventually(async () => expect(await B.inst.query('SELECT id FROM posts WHERE id = $1', [post.id])).toHaveLength(1), { timeoutMs: 20_000 });
    expect(await B.inst.query('SELECT id FROM file_infos WHERE id = $1', [file.id])).toHaveLength(0);
    expect(await metricValue(A.inst, 'shared_channels_attachments_sent_total', { result: 'refused' })).toBe(1);

    // The refusal names the limit (what A logged), and no session was kept.
    const res = await sendFrame(A.inst, B.inst, fed.remoteIds[1], 'sharedchannel_upload', {
      id: newId(), type: 'attachment', create_at: 0, user_id: alice.id, channel_id: channel, filename: 'twelve-mib.bin',
      file_size: 12 * MiB, file_offset: 0, remote_id: fed.remoteIds[1], req_file_id: file.id,
    });
    expect(res.body).toMatchObject({ status: 'FAIL', payload: null });
    expect(res.body.err).toMatch(/larger than this server's MAX_FILE_SIZE of 10485760 bytes/);
    expect(await B.inst.query('SELECT id FROM upload_sessions WHERE req_file_id = $1', [file.id])).toEqual([]);

    // A body over the limit on the upload route itself is a 413, refused before it is read.
    const small = await sendFrame(A.inst, B.inst, fed.remoteIds[1], 'sharedchannel_upload', {
      id: newId(), type: 'attachment', create_at: 0, user_id: alice.id, channel_id: channel, filename: 'small.bin',
      file_size: 1024, file_offset: 0, remote_id: fed.remoteIds[1], req_file_id: newId(),
    });
    expect(small.body.status).toBe('OK');
    const token = (await storedRemote(A.inst, fed.remoteIds[1])).remote_token as string;
    const tooBig = await http(B.inst, 'POST', `/api/v4/remotecluster/upload/${small.body.payload.id}`, {
      headers: { 'X-RemoteCluster-Id': fed.remoteIds[1], 'X-RemoteCluster-Token': token },
      rawBody: Buffer.alloc(11 * MiB),
    });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.message).toMatch(/larger than this server's limit of 10485760 bytes/);
  }, 60_000);

  it('upload sessions are forgotten after a week, with the bytes of one never finished', async () => {
    const [A, B] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'old-sessions');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice-old', channel);
    // An abandoned transfer: its session a week old, its partial bytes still on disk.
    const abandoned = newId();
    await B.inst.query(
      `INSERT INTO upload_sessions (id, type, create_at, user_id, channel_id, filename, file_size, file_offset, remote_id, req_file_id, path, complete_at)
       VALUES ($1, 'attachment', 1, $2, $3, 'lost.bin', 10, 4, $4, $5, $6, 0)`,
      [abandoned, alice.id, channel, fed.remoteIds[1], newId(), `uploads/${abandoned}`],
    );
    const partial = join(B.inst.config.files.dir, 'uploads', abandoned);
    await writeRandomFile(partial, 4);
    await B.inst.query('UPDATE upload_sessions SET create_at = 1 WHERE complete_at > 0');

    // The next transfer's session clears them.
    const path = join(dir, 'fresh.txt');
    await writeRandomFile(path, 1000);
    const file = await uploadFile(A.inst, alice.token, channel, 'fresh.txt', path);
    await createPost(A.inst, alice.token, channel, 'fresh', { file_ids: [file.id] });
    await filesOn(fed, 1, [file.id]);
    expect(await B.inst.query('SELECT id FROM upload_sessions WHERE create_at = 1')).toEqual([]);
    await expect(stat(partial)).rejects.toThrow();
    expect(await B.inst.query('SELECT id FROM upload_sessions WHERE req_file_id = $1', [file.id])).toHaveLength(1);
  }, 60_000);
});
