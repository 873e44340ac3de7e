import { request } from 'node:http';
import { newId } from '../../src/common/ids.js';
import { createChannel, createPost } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { FAST_FEDERATION_ENV, type Federation, memberOf, shareWith, startFederation } from '../support/federation.js';
import { http } from '../support/http.js';
import { startInstance, type Instance } from '../support/instance.js';
import { remoteHeaders, storedRemote } from '../support/remote-cluster.js';
import { sendFrame } from '../support/shared-channel.js';

const SIZE = 64 * 1024;

/**
 * B runs as two replicas sharing its database, Redis and files directory. While one replica is receiving the bytes
 * of an upload session, the other refuses a second body for the same session (409) instead of writing into the
 * same file; once the first finishes, both answer the completed file.
 */
describe('one writer per upload session across replicas', () => {
  let fed: Federation;
  let b2: Instance;

  beforeAll(async () => {
    fed = await startFederation(1);
    const b = fed.sides[1].inst;
    b2 = await startInstance('B2', { ...FAST_FEDERATION_ENV, DATABASE_URL: b.config.database.url, QUEUE_PREFIX: b.queuePrefix, FILES_DIR: b.config.files.dir });
  }, 60_000);
  afterAll(async () => {
    await b2?.destroy().catch(() => undefined);
    await fed?.destroy();
  });

  it('refuses a concurrent body on the other replica, then both answer the completed file', async () => {
    const [A, B] = fed.sides;
    const remoteId = fed.remoteIds[1];
    const channel = await createChannel(A.inst, A.token, A.teamId, 'leased');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice-lease', channel);
    await createPost(A.inst, alice.token, channel, 'B gets to know alice');
    await eventually(async () => expect(await B.inst.query('SELECT id FROM users WHERE id = $1', [alice.id])).toHaveLength(1));
    const fileId = newId();
    const session = await sendFrame(A.inst, B.inst, remoteId, 'sharedchannel_upload', {
      id: newId(), type: 'attachment', create_at: 0, user_id: alice.id, channel_id: channel, filename: 'leased.bin',
      file_size: SIZE, file_offset: 0, remote_id: remoteId, req_file_id: fileId,
    });
    expect(session.body).toMatchObject({ status: 'OK' });
    const path = `/api/v4/remotecluster/upload/${session.body.payload.id}`;
    const headers = remoteHeaders(remoteId, (await storedRemote(A.inst, remoteId)).remote_token as string);

    // The first body, to replica B: half of it now, the rest later.
    let firstRest: () => void = () => undefined;
    const first = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${B.inst.url}${path}`, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/octet-stream', 'Content-Length': String(SIZE) } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.write(Buffer.alloc(SIZE / 2, 1));
      firstRest = () => req.end(Buffer.alloc(SIZE / 2, 2));
    });
    await new Promise((r) => setTimeout(r, 300));

    // Meanwhile the whole body again, to the other replica: refused, nothing written.
    const second = await http(b2, 'POST', path, { headers: { ...headers, 'Content-Type': 'application/octet-stream' }, rawBody: Buffer.alloc(SIZE, 3) });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ id: 'api.upload.upload_data.in_progress.app_error', status_code: 409 });

    firstRest();
    const done = await first;
    expect(done.status).toBe(200);
    expect(JSON.parse(done.body)).toMatchObject({ id: fileId, size: SIZE });

    // Sent again after a lost reply, to either replica: the same answer, and the bytes are the first body's.
    const again = await http(b2, 'POST', path, { headers: { ...headers, 'Content-Type': 'application/octet-stream' }, rawBody: Buffer.alloc(SIZE, 3) });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: fileId, size: SIZE });
    const [info] = await B.inst.query<{ size: string }>('SELECT size FROM file_infos WHERE id = $1', [fileId]);
    expect(Number(info.size)).toBe(SIZE);
  }, 60_000);
});
