import { addToTeam, createChannel, createUser, type TestUser } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { type Federation, memberOf, shareWith, startFederation } from '../support/federation.js';
import { http } from '../support/http.js';
import type { Instance } from '../support/instance.js';
import { channelRow, sendFrame, systemPosts } from '../support/shared-channel.js';
import { WsSession } from '../support/websocket.js';

const NOTICE_TYPES = ['system_displayname_change', 'system_header_change', 'system_purpose_change'];

async function details(inst: Instance, channelId: string): Promise<{ display_name: string; header: string; purpose: string }> {
  const row = await channelRow(inst, channelId);
  return { display_name: row?.display_name, header: row?.header, purpose: row?.purpose };
}

async function notices(inst: Instance, channelId: string): Promise<Array<{ type: string; message: string; user_id: string; remote_id: string | null }>> {
  return inst.query(`SELECT type, message, user_id, remote_id FROM posts WHERE channel_id = $1 AND type = ANY($2) ORDER BY create_at, id`, [channelId, NOTICE_TYPES]);
}

/**
 * A shared channel's display name, header and purpose (never synced by Mattermost, MM-54023): A is the home, B and C
 * its remotes. The home's changes reach both; a remote member's change goes through the home, which applies it if
 * that member may change the channel there and relays it; the notices are each server's own posts.
 */
describe('channel details across servers (A home, B and C remotes)', () => {
  let fed: Federation;
  let channel: string;
  let bob: TestUser;
  let carol: TestUser;
  let carl: TestUser;
  let bobWs: WsSession;

  beforeAll(async () => {
    fed = await startFederation(2);
    const [A, B, C] = fed.sides;
    channel = await createChannel(A.inst, A.token, A.teamId, 'details-town');
    await shareWith(fed, channel, 1);
    await shareWith(fed, channel, 2);
    bob = await memberOf(B, 'bob-det', channel);
    carol = await memberOf(C, 'carol-det', channel);
    carl = await memberOf(C, 'carl-det', channel);
    // Membership sync brings C's members to A; then A takes carl out of the channel there: on C he is still a
    // member (A sends only its own users' membership changes), but on the channel's home he may not change it.
    await eventually(async () => {
      expect(await A.inst.query('SELECT user_id FROM channel_members WHERE channel_id = $1 AND user_id = ANY($2)', [channel, [carol.id, carl.id]])).toHaveLength(2);
    }, { timeoutMs: 20_000 });
    expect((await http(A.inst, 'DELETE', `/api/v4/channels/${channel}/members/${carl.id}`, { token: A.token })).status).toBe(200);
    bobWs = new WsSession(B.inst, bob.token);
    await bobWs.open();
  }, 120_000);
  afterAll(async () => {
    bobWs?.close();
    await fed?.destroy();
  });

  it('rename, header and purpose on the home reach both remotes, with Mattermost\'s notices written on each side', async () => {
    const [A, B, C] = fed.sides;
    const from = bobWs.events.length;
    const want = { display_name: 'Details Town', header: 'Bridge at 10', purpose: 'Talk about details' };
    const res = await http(A.inst, 'PUT', `/api/v4/channels/${channel}/patch`, { token: A.token, body: want });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject(want);
    await eventually(async () => {
      expect(await details(B.inst, channel)).toEqual(want);
      expect(await details(C.inst, channel)).toEqual(want);
    }, { timeoutMs: 20_000 });

    // Three notices on each server, each its own local post (no remote_id), never synced: no server has six.
    for (const s of [A, B, C]) {
      const n = await notices(s.inst, channel);
      expect(n.map((p) => p.type)).toEqual(NOTICE_TYPES);
      expect(n.every((p) => p.remote_id === null)).toBe(true);
      expect(n[0].message).toMatch(/ updated the channel display name from: details-town to: Details Town$/);
      expect(n[1].message).toMatch(/ updated the channel header to: Bridge at 10$/);
    }
    // The share rows show the details too (Mattermost's SharedChannel fields).
    expect((await B.inst.query('SELECT display_name, header, purpose FROM shared_channels WHERE channel_id = $1', [channel]))[0]).toEqual(want);
    await eventually(async () => expect((await A.inst.query('SELECT display_name FROM shared_channels WHERE channel_id = $1', [channel]))[0]).toEqual({ display_name: 'Details Town' }));

    // B's members see it live, as channel_updated.
    const updated = await bobWs.next('channel_updated', (m) => JSON.parse((m.data as { channel: string }).channel).header === 'Bridge at 10', 10_000, from);
    expect(JSON.parse((updated.data as { channel: string }).channel)).toMatchObject({ id: channel, ...want });
  });

  it('a remote member with permission changes them on her server: the home applies it and relays it to the other remote', async () => {
    const [A, B, C] = fed.sides;
    const res = await http(C.inst, 'PUT', `/api/v4/channels/${channel}/patch`, { token: carol.token, body: { header: 'Header from C', purpose: 'Purpose from C' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ header: 'Header from C', purpose: 'Purpose from C', display_name: 'Details Town' });
    // Applied on the home before C answered.
    expect(await details(A.inst, channel)).toEqual({ display_name: 'Details Town', header: 'Header from C', purpose: 'Purpose from C' });
    expect(await details(C.inst, channel)).toEqual({ display_name: 'Details Town', header: 'Header from C', purpose: 'Purpose from C' });
    await eventually(async () => expect(await details(B.inst, channel)).toEqual({ display_name: 'Details Town', header: 'Header from C', purpose: 'Purpose from C' }), {
      timeoutMs: 20_000,
    });
    // The notices name carol on every server, and are written once on each.
    await eventually(async () => {
      for (const s of [A, B, C]) {
        const n = (await notices(s.inst, channel)).slice(3);
        expect(n.map((p) => p.type)).toEqual(['system_header_change', 'system_purpose_change']);
        expect(n[0].message).toMatch(/^@carol-det\S* updated the channel header from: Bridge at 10 to: Header from C$/);
      }
    }, { timeoutMs: 20_000 });
    expect((await notices(C.inst, channel)).slice(3).every((p) => p.user_id === carol.id)).toBe(true);
    expect((await notices(A.inst, channel)).slice(3).every((p) => p.user_id === carol.id)).toBe(true);
  });

  it('a remote member without permission on the home is refused (403), and nothing changes anywhere', async () => {
    const [A, B, C] = fed.sides;
    const before = await details(A.inst, channel);
    const counts = await Promise.all([A, B, C].map(async (s) => (await systemPosts(s.inst, channel)).length));
    const res = await http(C.inst, 'PUT', `/api/v4/channels/${channel}/patch`, { token: carl.token, body: { header: 'carl was here' } });
    expect({ status: res.status, id: res.body.id }).toEqual({ status: 403, id: 'api.context.permissions.app_error' });
    expect(res.body.detailed_error).toMatch(/home server .* refused the change: carl-det\S* may not change this channel's details/);
    for (const s of [A, B, C]) expect(await details(s.inst, channel)).toEqual(before);
    expect(await Promise.all([A, B, C].map(async (s) => (await systemPosts(s.inst, channel)).length))).toEqual(counts);
    // A user of C's team who is not a member of the channel there never gets that far.
    const dave = await createUser(C.inst, C.token, 'dave-det');
    await addToTeam(C.inst, C.token, C.teamId, dave.id);
    const outsider = await http(C.inst, 'PUT', `/api/v4/channels/${channel}/patch`, { token: dave.token, body: { header: 'dave was here' } });
    expect(outsider.status).toBe(403);
    for (const s of [A, B, C]) expect(await details(s.inst, channel)).toEqual(before);
  });

  it('a repeated or older version from the home changes nothing; a message from a server that is not the home is refused', async () => {
    const [A, B] = fed.sides;
    const now = await channelRow(A.inst, channel);
    const current = { kind: 'update', channel_id: channel, display_name: now?.display_name, header: now?.header, purpose: now?.purpose, user_id: bob.id, username: 'bob' };
    await eventually(async () => expect(await details(B.inst, channel)).toEqual(await details(A.inst, channel)), { timeoutMs: 20_000 });
    const countOnB = (await systemPosts(B.inst, channel)).length;
    const replay = await sendFrame(A.inst, B.inst, fed.remoteIds[1], 'mmfed_channel_details', { ...current, update_at: Number(now?.update_at) });
    expect(replay.body).toMatchObject({ status: 'OK', payload: { status: 'stale' } });
    const older = await sendFrame(A.inst, B.inst, fed.remoteIds[1], 'mmfed_channel_details', { ...current, header: 'old header', update_at: Number(now?.update_at) - 1 });
    expect(older.body).toMatchObject({ status: 'OK', payload: { status: 'stale' } });
    expect((await details(B.inst, channel)).header).toBe(now?.header);
    expect((await systemPosts(B.inst, channel)).length).toBe(countOnB);

    // B is not the home: its "update" to A is refused, a malformed message is a FAIL.
    const fromB = await sendFrame(B.inst, A.inst, fed.remoteIds[1], 'mmfed_channel_details', { ...current, header: 'hijack', update_at: Date.now() + 10_000 });
    expect(fromB.body).toMatchObject({ status: 'OK', payload: { status: 'refused' } });
    expect((await details(A.inst, channel)).header).toBe(now?.header);
    const bad = await sendFrame(B.inst, A.inst, fed.remoteIds[1], 'mmfed_channel_details', { ...current, kind: 'propose', header: 'x'.repeat(2000), update_at: 0 });
    expect(bad.body).toMatchObject({ status: 'FAIL', err: expect.stringContaining('header must be') });
  });

  it('with the home down, a remote member\'s change is a 502 and changes nothing (the home decides)', async () => {
    const [A, , C] = fed.sides;
    const before = await details(C.inst, channel);
    await A.inst.stop();
    const res = await http(C.inst, 'PUT', `/api/v4/channels/${channel}/patch`, { token: carol.token, body: { header: 'while A is down' } });
    expect({ status: res.status, id: res.body.id }).toEqual({ status: 502, id: 'api.channel.patch_channel.shared_home_unreachable.app_error' });
    expect(await details(C.inst, channel)).toEqual(before);
  });
});
