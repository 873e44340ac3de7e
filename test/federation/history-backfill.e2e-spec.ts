import { createChannel, createPost } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { channelState, converged, type Federation, memberOf, startFederation } from '../support/federation.js';
import { uploadFile } from '../support/files.js';
import { http } from '../support/http.js';
import type { Instance } from '../support/instance.js';

const DAY = 24 * 3600 * 1000;

interface Backfill {
  state: string;
  since: number;
  items_total: number;
  items_sent: number;
  items_refused: number;
  percent: number;
  eta_at: number;
  finished_at: number;
}

const backfillOf = async (inst: Instance, token: string, channelId: string, remoteId: string) => {
  const res = await http<{ backfill: Backfill | null }>(inst, 'GET', `/api/v4/sharedchannels/${channelId}/remotes/${remoteId}/backfill`, { token });
  expect(res.status).toBe(200);
  return res.body.backfill;
};

const done = (inst: Instance, token: string, channelId: string, remoteId: string) =>
  eventually(async () => {
    const b = await backfillOf(inst, token, channelId, remoteId);
    expect(b?.state).toBe('done');
    return b!;
  }, { timeoutMs: 60_000, intervalMs: 100 });

const ids = async (inst: Instance, channelId: string) =>
  (await inst.query<{ id: string }>(`SELECT id FROM posts WHERE channel_id = $1 AND type NOT LIKE 'system\\_%' ORDER BY id`, [channelId])).map((r) => r.id);

/** Both sides alike, but for posts deleted before the share (history sends what is there, not what was removed). */
const historyConverged = (a: Instance, b: Instance, channelId: string) =>
  eventually(async () => {
    const [sa, sb] = await Promise.all([channelState(a, channelId), channelState(b, channelId)]);
    expect(sb).toEqual({ ...sa, posts: sa.posts.filter((p) => !p.deleted) });
    return sb;
  }, { timeoutMs: 30_000, intervalMs: 100 });

const check = async (inst: Instance, token: string, channelId: string, remoteId: string) => {
  const res = await http<{ last_result: string; last_error: string; divergent: number }>(inst, 'POST', `/api/v4/sharedchannels/${channelId}/remotes/${remoteId}/consistency`, {
    token,
  });
  expect(res.status).toBe(200);
  return res.body;
};

/**
 * History on share: a channel's posts from before it was shared reach the remote when asked for (`?history=` on the
 * invite, or POST .../backfill later), oldest first, with their replies, reactions, acknowledgements and files, and
 * nothing else.
 */
describe('history backfill', () => {
  let fed: Federation;

  beforeAll(async () => {
    fed = await startFederation(1, { CONSISTENCY_CHECK_INTERVAL_MS: '0', SYNC_BACKFILL_BATCH: '7' });
  }, 60_000);
  afterAll(() => fed?.destroy());

  it('an invite with ?history=all sends the whole history, threads, reactions, acknowledgements and files included', async () => {
    const [A, B] = fed.sides;
    const remoteId = fed.remoteIds[1];
    const channel = await createChannel(A.inst, A.token, A.teamId, 'with-history');
    const alice = await memberOf(A, 'alice-h', channel);
    const ann = await memberOf(A, 'ann-h', channel);
    const roots: string[] = [];
    for (let i = 0; i < 20; i++) roots.push((await createPost(A.inst, alice.token, channel, `history ${i}`)).id);
    for (let i = 0; i < 10; i++) await createPost(A.inst, ann.token, channel, `reply ${i}`, { root_id: roots[i % 4] });
    const file = await uploadFile(A.inst, alice.token, channel, 'old.txt', Buffer.from('a file from before the share'));
    const withFile = await createPost(A.inst, alice.token, channel, 'with a file', { file_ids: [file.id] });
    for (const [user, post, emoji] of [[ann, roots[0], 'tada'], [alice, roots[1], 'eyes'], [ann, withFile.id, 'ok']] as const) {
      expect((await http(A.inst, 'POST', '/api/v4/reactions', { token: user.token, body: { user_id: user.id, post_id: post, emoji_name: emoji } })).status).toBe(200);
    }
    expect((await http(A.inst, 'POST', `/api/v4/users/${ann.id}/posts/${roots[2]}/ack`, { token: ann.token })).status).toBe(200);
    const deleted = await createPost(A.inst, alice.token, channel, 'deleted before the share');
    expect((await http(A.inst, 'DELETE', `/api/v4/posts/${deleted.id}`, { token: alice.token })).status).toBe(200);

    // Bad values are refused before anything is stored.
    const bad = await http(A.inst, 'POST', `/api/v4/remotecluster/${remoteId}/channels/${channel}/invite?history=everything`, { token: A.token });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ id: 'api.context.invalid_body_param.app_error', status_code: 400 });
    expect(await A.inst.query('SELECT 1 FROM shared_channel_remotes WHERE channel_id = $1', [channel])).toHaveLength(0);

    const res = await http(A.inst, 'POST', `/api/v4/remotecluster/${remoteId}/channels/${channel}/invite?history=all`, { token: A.token });
    expect(res.status).toBe(200);
    const finished = await done(A.inst, A.token, channel, remoteId);
    // 31 posts (not the deleted one), 3 reactions, 1 acknowledgement; batches of 7, so several jobs.
    expect(finished).toMatchObject({ since: 0, items_total: 35, items_sent: 35, items_refused: 0, percent: 100, eta_at: 0 });

    const state = await historyConverged(A.inst, B.inst, channel);
    expect(state.posts).toHaveLength(31);
    expect(state.posts.filter((p) => p.root_id)).toHaveLength(10);
    expect(state.reactions).toHaveLength(3);
    expect(state.acks).toEqual([`${ann.id}:${roots[2]}`]);
    expect(await ids(B.inst, channel)).not.toContain(deleted.id);
    const [f] = await B.inst.query<{ post_id: string }>('SELECT post_id FROM file_infos WHERE id = $1', [file.id]);
    expect(f?.post_id).toBe(withFile.id);

    // The shared-channel remote API shows it (a field Mattermost clients ignore), and a consistency check counts the
    // history as what B should hold: nothing to repair.
    const scrs = await http<Array<{ channel_id: string; backfill?: Backfill }>>(A.inst, 'GET', `/api/v4/remotecluster/${remoteId}/sharedchannelremotes`, { token: A.token });
    expect(scrs.body.find((r) => r.channel_id === channel)?.backfill).toMatchObject({ state: 'done', items_sent: 35 });
    expect(await check(A.inst, A.token, channel, remoteId)).toMatchObject({ last_result: 'consistent', divergent: 0, last_error: '' });
    expect(await check(B.inst, B.token, channel, remoteId)).toMatchObject({ last_result: 'consistent', divergent: 0 });

    // Live sync goes on as before: a reaction on a history post, and a new post.
    expect((await http(A.inst, 'POST', '/api/v4/reactions', { token: alice.token, body: { user_id: alice.id, post_id: roots[5], emoji_name: 'fire' } })).status).toBe(200);
    await createPost(A.inst, alice.token, channel, 'after the backfill');
    const after = await historyConverged(A.inst, B.inst, channel);
    expect(after.reactions).toContain(`${alice.id}:${roots[5]}:fire`);
  }, 120_000);

  it('without ?history nothing old goes; POST .../backfill?history=<days> sends the last days (threads whole), then all', async () => {
    const [A, B] = fed.sides;
    const remoteId = fed.remoteIds[1];
    const channel = await createChannel(A.inst, A.token, A.teamId, 'days-back');
    const alice = await memberOf(A, 'alice-d', channel);
    const ancient = await createPost(A.inst, alice.token, channel, 'ten days old');
    const oldRoot = await createPost(A.inst, alice.token, channel, 'an old thread');
    const recentReply = await createPost(A.inst, alice.token, channel, 'a recent reply to it', { root_id: oldRoot.id });
    const recent = await createPost(A.inst, alice.token, channel, 'two days old');
    // Backdated behind the API's back, as if written long ago.
    await A.inst.query('UPDATE posts SET create_at = create_at - $2::bigint, update_at = update_at - $2::bigint WHERE id = ANY($1)', [[ancient.id], 10 * DAY]);
    await A.inst.query('UPDATE posts SET create_at = create_at - $2::bigint, update_at = update_at - $2::bigint WHERE id = ANY($1)', [[oldRoot.id], 8 * DAY]);
    await A.inst.query('UPDATE posts SET create_at = create_at - $2::bigint, update_at = update_at - $2::bigint WHERE id = ANY($1)', [[recent.id, recentReply.id], 2 * DAY]);

    const res = await http(A.inst, 'POST', `/api/v4/remotecluster/${remoteId}/channels/${channel}/invite`, { token: A.token });
    expect(res.status).toBe(200);
    await eventually(async () => expect(await B.inst.query('SELECT 1 FROM shared_channels WHERE channel_id = $1', [channel])).toHaveLength(1));
    const live = await createPost(A.inst, alice.token, channel, 'after the share');
    await eventually(async () => expect(await ids(B.inst, channel)).toEqual([live.id]), { timeoutMs: 15_000 });
    expect(await backfillOf(A.inst, A.token, channel, remoteId)).toBeNull();

    // Bad requests: a value that is not all or days, a channel not shared with that remote, a server that is not home.
    expect((await http(A.inst, 'POST', `/api/v4/sharedchannels/${channel}/remotes/${remoteId}/backfill?history=none`, { token: A.token })).status).toBe(400);
    expect((await http(A.inst, 'POST', `/api/v4/sharedchannels/${channel}/remotes/${remoteId}/backfill`, { token: A.token })).status).toBe(400);
    const other = await createChannel(A.inst, A.token, A.teamId, 'not-shared');
    const notShared = await http(A.inst, 'POST', `/api/v4/sharedchannels/${other}/remotes/${remoteId}/backfill?history=all`, { token: A.token });
    expect(notShared.status).toBe(404);
    expect(notShared.body).toMatchObject({ id: 'app.sync.backfill.not_shared' });
    const notHome = await http(B.inst, 'POST', `/api/v4/sharedchannels/${channel}/remotes/${remoteId}/backfill?history=all`, { token: B.token });
    expect(notHome.status).toBe(400);
    expect(notHome.body).toMatchObject({ id: 'app.sync.backfill.not_home' });

    // The last 3 days: the recent post, and the recent reply with its 8-day-old root (a reply never comes alone).
    const three = await http<{ backfill: Backfill }>(A.inst, 'POST', `/api/v4/sharedchannels/${channel}/remotes/${remoteId}/backfill?history=3`, { token: A.token });
    expect(three.status).toBe(200);
    expect(['running', 'done']).toContain(three.body.backfill.state);
    await done(A.inst, A.token, channel, remoteId);
    await eventually(async () => expect(await ids(B.inst, channel)).toEqual([live.id, oldRoot.id, recentReply.id, recent.id].sort()), { timeoutMs: 15_000 });
    expect(await check(A.inst, A.token, channel, remoteId)).toMatchObject({ last_result: 'consistent', divergent: 0 });

    // Asking for what is covered changes nothing; asking for all walks only what the first walk did not cover.
    const again = await http<{ backfill: Backfill }>(A.inst, 'POST', `/api/v4/sharedchannels/${channel}/remotes/${remoteId}/backfill?history=1`, { token: A.token });
    expect(again.body.backfill).toMatchObject({ state: 'done', items_total: 3 });
    const all = await http<{ backfill: Backfill }>(A.inst, 'POST', `/api/v4/sharedchannels/${channel}/remotes/${remoteId}/backfill?history=all`, { token: A.token });
    expect(all.status).toBe(200);
    expect(await done(A.inst, A.token, channel, remoteId)).toMatchObject({ since: 0, items_total: 1, items_sent: 1 });
    const state = await converged([A.inst, B.inst], channel, 30_000);
    expect(state.posts.map((p) => p.id).sort()).toEqual([live.id, ancient.id, oldRoot.id, recentReply.id, recent.id].sort());
    expect(await check(A.inst, A.token, channel, remoteId)).toMatchObject({ last_result: 'consistent', divergent: 0 });
    expect((await channelState(B.inst, channel)).posts).toHaveLength(5);
  }, 120_000);
});
