import { newId } from '../../src/common/ids.js';
import { defaultAvatarPng } from '../../src/modules/chat/users/default-avatar.js';
import { type OutboundRecord, RemoteClusterClient } from '../../src/modules/remote-cluster/remote-cluster.client.js';
import { addToTeam, createChannel, createPost, createUser } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { type Federation, memberOf, shareWith, startFederation } from '../support/federation.js';
import { imageForm } from '../support/files.js';
import { http } from '../support/http.js';

/**
 * Everything A tells B during a full sync, frame by frame, as A's one outbound client saw it: invites (a channel and
 * a DM with its participants), membership sync, users, posts with mentions, profile images and a global user sync.
 * No local user's real email, password hash, auth data, MFA secret or notification settings may be in any of it.
 */
describe('privacy: what leaves the server', () => {
  let fed: Federation;

  beforeAll(async () => {
    fed = await startFederation(1, { ENABLE_GLOBAL_USER_SYNC: 'true' });
  }, 60_000);
  afterAll(() => fed?.destroy());

  it('no outbound frame of a full sync carries a local user\'s email or secrets; a mentioned non-member joins nothing on B', async () => {
    const [A, B] = fed.sides;
    const remoteId = fed.remoteIds[1];
    const frames: OutboundRecord[] = [];
    const unsubscribe = A.inst.app!.get(RemoteClusterClient).onOutbound((r) => void frames.push(r));

    const channel = await createChannel(A.inst, A.token, A.teamId, 'private-matters');
    const alice = await memberOf(A, 'alice', channel);
    // Carol is in A's team but not in the channel: she is only mentioned.
    const carol = await createUser(A.inst, A.token, 'carol');
    await addToTeam(A.inst, A.token, A.teamId, carol.id);
    // Secrets a real deployment holds: MFA, SSO identity, notification settings (distinctive values to look for).
    await A.inst.query(
      `UPDATE users SET mfa_active = true, mfa_secret = 'MFASECRET' || upper(substr(id, 1, 8)), auth_data = 'sso-subject-' || id,
              notify_props = jsonb_build_object('email', 'true', 'mention_keys', 'notifykey-' || id, 'push', 'all')
        WHERE remote_id IS NULL`,
    );
    await shareWith(fed, channel, 1);
    const bob = await memberOf(B, 'bob', channel);
    // Bob reaches A's channel through the membership sync; then A's post names him by A's name for him.
    await eventually(async () => expect(await A.inst.query('SELECT 1 FROM channel_members WHERE channel_id = $1 AND user_id = $2', [channel, bob.id])).toHaveLength(1));
    const post = await createPost(A.inst, alice.token, channel, `@carol have a look, and @bob:to-b too`);
    const form = imageForm(defaultAvatarPng(newId()));
    expect((await http(A.inst, 'POST', `/api/v4/users/${alice.id}/image`, { token: alice.token, rawBody: form.body, headers: { 'Content-Type': form.contentType } })).status).toBe(200);
    const dm = await http(A.inst, 'POST', '/api/v4/channels/direct', { token: alice.token, body: [alice.id, bob.id] });
    expect((await http(A.inst, 'POST', `/api/v4/remotecluster/${remoteId}/channels/${dm.body.id}/invite`, { token: A.token })).status).toBe(200);
    expect((await http(A.inst, 'POST', `/api/v4/remotecluster/${remoteId}/sync_users?full=true`, { token: A.token })).status).toBe(200);

    const local = await A.inst.query<{ id: string; email: string; password: string; mfa_secret: string; auth_data: string; notify_props: Record<string, string> }>(
      'SELECT id, email, password, mfa_secret, auth_data, notify_props FROM users WHERE remote_id IS NULL',
    );
    await eventually(async () => {
      const [{ n }] = await B.inst.query<{ n: string }>('SELECT count(*) AS n FROM users WHERE id = ANY($1)', [local.map((u) => u.id)]);
      expect(Number(n)).toBe(local.length);
      expect(await B.inst.query('SELECT 1 FROM users WHERE id = $1 AND last_picture_update > 0', [alice.id])).toHaveLength(1);
      expect(await B.inst.query('SELECT 1 FROM shared_channels WHERE channel_id = $1', [dm.body.id])).toHaveLength(1);
      expect(await B.inst.query('SELECT 1 FROM posts WHERE id = $1', [post.id])).toHaveLength(1);
    }, { timeoutMs: 30_000, intervalMs: 100 });
    unsubscribe();

    // The capture saw the whole exchange, users included.
    const kinds = new Set(frames.map((f) => f.kind));
    expect([...kinds].sort()).toEqual(expect.arrayContaining(['msg', 'ping', 'profile_image']));
    const bodies = frames.filter((f) => f.body).map((f) => f.body!);
    const topics = new Set(bodies.map((b) => (JSON.parse(b) as { msg: { topic: string } }).msg.topic));
    expect([...topics]).toEqual(expect.arrayContaining(['sharedchannel_invite', 'sharedchannel_sync', 'sharedchannel_global_user_sync']));
    const all = bodies.join('\n');
    for (const u of [alice, carol]) expect(all).toContain(u.id);
    expect(all).toContain('"membership_changes"');
    expect(all).toContain('"direct_participants":[{');

    for (const u of local) {
      expect(all).not.toContain(u.email);
      expect(all).not.toContain(u.password);
      expect(all).not.toContain(u.mfa_secret);
      expect(all).not.toContain(u.auth_data);
      expect(all).not.toContain(u.notify_props.mention_keys);
    }
    expect(all).not.toMatch(/\$2[aby]?\$\d\d\$/);
    expect(all).not.toContain('example.com');

    // Carol was mentioned but is not in the channel: no sync message of the channel carries her profile (a
    // Mattermost receiver joins every user of such a message to its team and channel). B knows her only from the
    // global user sync, which joins nobody anywhere.
    const channelUsers = bodies
      .map((b) => (JSON.parse(b) as { msg: { topic: string; payload: { channel_id?: string; users?: Record<string, unknown> } } }).msg)
      .filter((m) => m.topic === 'sharedchannel_sync' && m.payload.channel_id === channel)
      .flatMap((m) => Object.keys(m.payload.users ?? {}));
    expect(channelUsers).toContain(alice.id);
    expect(channelUsers).not.toContain(carol.id);
    expect(await B.inst.query('SELECT 1 FROM team_members WHERE user_id = $1', [carol.id])).toEqual([]);
    expect(await B.inst.query('SELECT 1 FROM channel_members WHERE user_id = $1', [carol.id])).toEqual([]);
    // The mentions read as B's names: hers with A's suffix, B's own user without one.
    const [onB] = await B.inst.query<{ message: string }>('SELECT message FROM posts WHERE id = $1', [post.id]);
    expect(onB.message).toBe('@carol:to-a have a look, and @bob too');
  }, 90_000);

  it('a permalink to a post of the shared channel points at the reader\'s own site (a host with a port), others stay', async () => {
    const [A, B] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'linked');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice-links', channel);
    const elsewhere = await createChannel(A.inst, A.token, A.teamId, 'not-shared');
    const hidden = await createPost(A.inst, A.token, elsewhere, 'not for B');
    const target = await createPost(A.inst, alice.token, channel, 'the decision');
    const teamA = (await http(A.inst, 'GET', `/api/v4/teams/${A.teamId}`, { token: A.token })).body.name as string;
    const teamB = (await http(B.inst, 'GET', `/api/v4/teams/${B.teamId}`, { token: B.token })).body.name as string;
    expect(A.inst.url).toMatch(/:\d+$/);
    const link = await createPost(A.inst, alice.token, channel, `see ${A.inst.url}/${teamA}/pl/${target.id} (not ${A.inst.url}/${teamA}/pl/${hidden.id})`);
    const onB = await eventually(async () => {
      const rows = await B.inst.query<{ message: string }>('SELECT message FROM posts WHERE id = $1', [link.id]);
      expect(rows).toHaveLength(1);
      return rows[0].message;
    }, { timeoutMs: 20_000 });
    expect(onB).toBe(`see ${B.inst.url}/${teamB}/pl/${target.id} (not ${A.inst.url}/${teamA}/pl/${hidden.id})`);
  }, 60_000);
});
