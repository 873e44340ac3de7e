import { newId } from '../../src/common/ids.js';
import { UserDirectory } from '../../src/modules/auth/user-directory.service.js';
import { sanitizeUserForSync } from '../../src/modules/shared-channel/remote-users.service.js';
import { createChannel } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { type Federation, memberOf, shareWith, startFederation } from '../support/federation.js';
import { http } from '../support/http.js';
import { remoteHeaders, storedRemote } from '../support/remote-cluster.js';
import { sendFrame } from '../support/shared-channel.js';

/**
 * What a Mattermost 11.x peer puts on the wire, played by hand on B's connection to A (the home), with C as a
 * second remote that gets everything relayed by A:
 *
 * - post property values flattened into `props`, one string per property field (embedPostPropertiesForSync), and a
 *   whole post sent again with the same update_at when only a property value changed (its property-value cursor);
 * - an attachment whose upload completes after its post arrived.
 */
describe('Mattermost 11.x on the wire', () => {
  let fed: Federation;
  let channel: string;
  let bobId: string;
  let bobWire: unknown;

  beforeAll(async () => {
    fed = await startFederation(2);
    const [A, B] = fed.sides;
    channel = await createChannel(A.inst, A.token, A.teamId, 'mm11-wire');
    await shareWith(fed, channel, 1);
    await shareWith(fed, channel, 2);
    const bob = await memberOf(B, 'bob-mm11', channel);
    bobId = bob.id;
    bobWire = sanitizeUserForSync(await B.inst.app!.get(UserDirectory).get(bob.id));
  }, 90_000);
  afterAll(() => fed?.destroy());

  /** A sharedchannel_sync message from "B" to A, as Mattermost builds it; the SyncResponse. */
  async function syncFromB(posts: Array<Record<string, unknown>>): Promise<Record<string, any>> {
    const [A, B] = fed.sides;
    const res = await sendFrame(B.inst, A.inst, fed.remoteIds[1], 'sharedchannel_sync', {
      id: newId(),
      channel_id: channel,
      users: { [bobId]: bobWire },
      posts,
    });
    expect(res.body).toMatchObject({ status: 'OK' });
    return res.body.payload;
  }

  function wirePost(id: string, at: number, props: Record<string, unknown>, fileIds: string[] = []): Record<string, unknown> {
    return {
      id, create_at: at, update_at: at, edit_at: 0, delete_at: 0, is_pinned: false, user_id: bobId, channel_id: channel,
      root_id: '', original_id: '', message: 'status update', type: '', props, hashtags: '', file_ids: fileIds,
      pending_post_id: '', reply_count: 0, last_reply_at: 0, participants: null,
    };
  }

  async function propsOf(side: number, postId: string): Promise<Record<string, unknown> | undefined> {
    return (await fed.sides[side].inst.query<{ props: Record<string, unknown> }>('SELECT props FROM posts WHERE id = $1', [postId]))[0]?.props;
  }

  /** "B" uploads a file to A the way Mattermost does: sharedchannel_upload, then the bytes. */
  async function uploadFromB(fileId: string, bytes: Buffer): Promise<void> {
    const [A, B] = fed.sides;
    const remoteId = fed.remoteIds[1];
    const session = await sendFrame(B.inst, A.inst, remoteId, 'sharedchannel_upload', {
      id: newId(), type: 'attachment', create_at: Date.now(), user_id: bobId, channel_id: channel, filename: `${fileId}.bin`,
      file_size: bytes.length, file_offset: 0, remote_id: remoteId, req_file_id: fileId,
    });
    expect(session.body).toMatchObject({ status: 'OK' });
    const headers = remoteHeaders(remoteId, (await storedRemote(B.inst, remoteId)).remote_token as string);
    const done = await http(A.inst, 'POST', `/api/v4/remotecluster/upload/${session.body.payload.id}`, {
      headers: { ...headers, 'Content-Type': 'application/octet-stream' },
      rawBody: bytes,
    });
    expect(done.status).toBe(200);
  }

  it('flattened property values are stored and relayed as they are, and a re-sent post with only a property changed updates them', async () => {
    const postId = newId();
    const at = Date.now();
    const props = { from_bot: 'false', Priority: 'High', Owner: 'Miguel Smith', Tags: 'beta, alpha, (unknown option)' };
    expect((await syncFromB([wirePost(postId, at, props)])).post_errors).toEqual([]);
    expect(await propsOf(0, postId)).toEqual(props);
    await eventually(async () => expect(await propsOf(2, postId)).toEqual(props), { timeoutMs: 20_000 });

    // Only a property value changed: Mattermost sends the whole post again, update_at unchanged.
    const changed = { ...props, Priority: 'Low', Due: '2026-06-05T10:00:00Z' };
    expect((await syncFromB([wirePost(postId, at, changed)])).post_errors).toEqual([]);
    expect(await propsOf(0, postId)).toEqual(changed);
    await eventually(async () => expect(await propsOf(2, postId)).toEqual(changed), { timeoutMs: 20_000 });

    // The same message again changes nothing, and no change is recorded for it.
    const [{ n: before }] = await fed.sides[0].inst.query<{ n: string }>(`SELECT count(*) AS n FROM change_events WHERE data->>'post_id' = $1`, [postId]);
    expect((await syncFromB([wirePost(postId, at, changed)])).post_errors).toEqual([]);
    const [{ n: after }] = await fed.sides[0].inst.query<{ n: string }>(`SELECT count(*) AS n FROM change_events WHERE data->>'post_id' = $1`, [postId]);
    expect(after).toBe(before);
    const [row] = await fed.sides[0].inst.query<{ update_at: string }>('SELECT update_at FROM posts WHERE id = $1', [postId]);
    expect(Number(row.update_at)).toBe(at);
  });

  it('an attachment that arrives after its post is attached to it, here and on the servers the post is relayed to', async () => {
    const [A, , C] = fed.sides;
    const fileId = newId();
    const postId = newId();
    const bytes = Buffer.from(`late attachment ${fileId}`);
    expect((await syncFromB([wirePost(postId, Date.now(), {}, [fileId])])).post_errors).toEqual([]);
    // C has the post (naming a file nobody has yet) before the file exists anywhere but on B.
    await eventually(async () => expect(await C.inst.query('SELECT id FROM posts WHERE id = $1', [postId])).toHaveLength(1), { timeoutMs: 20_000 });
    expect(await A.inst.query('SELECT id FROM file_infos WHERE id = $1', [fileId])).toHaveLength(0);

    await uploadFromB(fileId, bytes);
    const [onA] = await A.inst.query<{ post_id: string }>('SELECT post_id FROM file_infos WHERE id = $1', [fileId]);
    expect(onA.post_id).toBe(postId);
    await eventually(async () => {
      const [onC] = await C.inst.query<{ post_id: string; size: string }>('SELECT post_id, size FROM file_infos WHERE id = $1', [fileId]);
      expect(onC && { post_id: onC.post_id, size: Number(onC.size) }).toEqual({ post_id: postId, size: bytes.length });
    }, { timeoutMs: 20_000 });
    const onCFile = await http(C.inst, 'GET', `/api/v4/files/${fileId}`, { token: fed.sides[2].token });
    expect(onCFile.status).toBe(200);
    expect(Buffer.from(onCFile.text, 'latin1').toString()).toBe(bytes.toString());
  });

  it('and one that arrives before its post is attached when the post comes', async () => {
    const [A, , C] = fed.sides;
    const fileId = newId();
    const postId = newId();
    await uploadFromB(fileId, Buffer.from('early attachment'));
    const [early] = await A.inst.query<{ post_id: string }>('SELECT post_id FROM file_infos WHERE id = $1', [fileId]);
    expect(early.post_id).toBe('');
    expect((await syncFromB([wirePost(postId, Date.now(), {}, [fileId])])).post_errors).toEqual([]);
    const [onA] = await A.inst.query<{ post_id: string }>('SELECT post_id FROM file_infos WHERE id = $1', [fileId]);
    expect(onA.post_id).toBe(postId);
    await eventually(async () => {
      const [onC] = await C.inst.query<{ post_id: string }>('SELECT post_id FROM file_infos WHERE id = $1', [fileId]);
      expect(onC?.post_id).toBe(postId);
    }, { timeoutMs: 20_000 });
  });
});
