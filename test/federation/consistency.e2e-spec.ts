import { createChannel, createPost } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { channelState, converged, type Federation, memberOf, shareWith, startFederation } from '../support/federation.js';
import { http } from '../support/http.js';
import type { Instance } from '../support/instance.js';
import { metricValue } from '../support/remote-cluster.js';
import { unregisterTopic } from '../support/topics.js';
import { ConsistencyRepository } from '../../src/modules/sync/consistency/consistency.repository.js';
import { TOPIC_CONSISTENCY } from '../../src/modules/sync/consistency/consistency.service.js';

interface Consistency {
  peer: string;
  last_error: string;
  last_result: string;
  last_check_at: number;
  divergent: number;
  repaired: number;
  counts: Record<string, { divergent: number; repaired: number }>;
  digest_bytes: number;
  repair_bytes: number;
  checks: number;
  repaired_total: number;
}

const members = async (inst: Instance, channelId: string) =>
  (await inst.query<{ user_id: string }>('SELECT user_id FROM channel_members WHERE channel_id = $1 ORDER BY 1', [channelId])).map((r) => r.user_id);

/**
 * Anti-entropy: a check compares a shared channel's posts, reactions, acknowledgements and members between the home
 * and a remote, and repairs from each item's owner whatever differs, in both directions.
 */
describe('consistency check: divergence is found and repaired', () => {
  let fed: Federation;

  beforeAll(async () => {
    // Periodic checks off: this test runs them when it wants (POST), so their counts are exactly its own.
    fed = await startFederation(1, { CONSISTENCY_CHECK_INTERVAL_MS: '0' });
  }, 60_000);
  afterAll(() => fed?.destroy());

  const check = async (inst: Instance, token: string, channelId: string, remoteId: string, method: 'GET' | 'POST' = 'POST') => {
    const res = await http<Consistency>(inst, method, `/api/v4/sharedchannels/${channelId}/remotes/${remoteId}/consistency`, { token });
    expect(res.status).toBe(200);
    return res.body;
  };

  it('rows deleted or added behind the sync engine on either side are found and repaired, visibly', async () => {
    const [A, B] = fed.sides;
    const remoteId = fed.remoteIds[1];
    const channel = await createChannel(A.inst, A.token, A.teamId, 'repairs');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice-c', channel);
    const ann = await memberOf(A, 'ann-c', channel);
    const bob = await memberOf(B, 'bob-c', channel);
    const fromA = await createPost(A.inst, alice.token, channel, 'from A');
    const other = await createPost(A.inst, alice.token, channel, 'another from A');
    const fromB = await createPost(B.inst, bob.token, channel, 'from B');
    await eventually(async () => {
      expect(await B.inst.query('SELECT 1 FROM posts WHERE id = ANY($1)', [[fromA.id, other.id]])).toHaveLength(2);
      expect(await A.inst.query('SELECT 1 FROM posts WHERE id = $1', [fromB.id])).toHaveLength(1);
    });
    for (const [inst, user, post, emoji] of [[A, alice, fromB, 'wave'], [A, ann, fromA, 'tada'], [B, bob, fromA, 'eyes']] as const) {
      expect((await http(inst.inst, 'POST', '/api/v4/reactions', { token: user.token, body: { user_id: user.id, post_id: post.id, emoji_name: emoji } })).status).toBe(200);
    }
    await http(A.inst, 'POST', `/api/v4/users/${alice.id}/posts/${fromB.id}/ack`, { token: alice.token });
    const before = await converged([A.inst, B.inst], channel);
    await eventually(async () => expect(await members(B.inst, channel)).toEqual(await members(A.inst, channel)));

    // A first check finds nothing; B is known to be a server of this project.
    const first = await check(A.inst, A.token, channel, remoteId);
    expect(first.last_error).toBe('');
    expect(first).toMatchObject({ peer: 'mmfed', last_result: 'consistent', divergent: 0, repaired: 0, checks: 1 });
    console.log(`consistency check of a consistent channel: ${first.digest_bytes} bytes of digests`);

    // Behind the sync engine's back, on B: A's post, ann's reaction and ann's membership go; a reaction A never had
    // appears, stamped as A's. On A: B's user's reaction goes (B owns it, so B's copy must come back).
    await B.inst.query('DELETE FROM posts WHERE id = $1', [other.id]);
    await B.inst.query('DELETE FROM reactions WHERE user_id = $1 AND post_id = $2', [ann.id, fromA.id]);
    await B.inst.query('DELETE FROM channel_members WHERE channel_id = $1 AND user_id = $2', [channel, ann.id]);
    await B.inst.query(
      `INSERT INTO reactions (user_id, post_id, emoji_name, create_at, update_at, delete_at, remote_id, channel_id)
       VALUES ($1, $2, 'ghost', 1, 1, 0, $3, $4)`,
      [alice.id, fromB.id, remoteId, channel],
    );
    await A.inst.query('DELETE FROM reactions WHERE user_id = $1 AND post_id = $2', [bob.id, fromA.id]);

    const repaired = await check(A.inst, A.token, channel, remoteId);
    expect(repaired).toMatchObject({ last_result: 'repaired', divergent: 5, repaired: 5, checks: 2, repaired_total: 5 });
    expect(repaired.counts).toEqual({
      posts: { divergent: 1, repaired: 1 },
      reactions: { divergent: 3, repaired: 3 },
      members: { divergent: 1, repaired: 1 },
    });
    console.log(`consistency check that repaired 5 items: ${repaired.digest_bytes} bytes of digests, ${repaired.repair_bytes} bytes of repairs`);
    expect(await check(A.inst, A.token, channel, remoteId, 'GET')).toMatchObject({ last_result: 'repaired', divergent: 5, repaired: 5 });

    // Both sides hold the same channel again, as it was before the damage.
    const after = await converged([A.inst, B.inst], channel);
    expect(after).toEqual(before);
    expect(await members(B.inst, channel)).toEqual(await members(A.inst, channel));

    // Visible in the metrics, and the next check finds nothing.
    expect(await metricValue(A.inst, 'shared_channels_consistency_divergent_items_total', { remote_id: remoteId })).toBe(5);
    expect(await metricValue(A.inst, 'shared_channels_consistency_repaired_items_total', { remote_id: remoteId, kind: 'reactions' })).toBe(3);
    expect(await metricValue(A.inst, 'shared_channels_consistency_checks_total', { remote_id: remoteId, result: 'repaired' })).toBe(1);
    expect(await check(A.inst, A.token, channel, remoteId)).toMatchObject({ last_result: 'consistent', divergent: 0 });
    // The remote can run one too, against the home.
    expect(await check(B.inst, B.token, channel, remoteId)).toMatchObject({ last_result: 'consistent', divergent: 0 });
  }, 90_000);

  it('the newest item the sync engine delivered (the one its cursor sits on) is compared and repaired too', async () => {
    // A check once treated the item at each cursor as still in flight, so the last post, reaction or
    // acknowledgement of a quiet channel was never verified until something newer was synced.
    const [A, B] = fed.sides;
    const remoteId = fed.remoteIds[1];
    const channel = await createChannel(A.inst, A.token, A.teamId, 'at-cursor');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice-cur', channel);
    const post = await createPost(A.inst, alice.token, channel, 'the last one');
    expect((await http(A.inst, 'POST', '/api/v4/reactions', { token: alice.token, body: { user_id: alice.id, post_id: post.id, emoji_name: 'wave' } })).status).toBe(200);
    await converged([A.inst, B.inst], channel);
    await eventually(async () => {
      const [scr] = await A.inst.query<{ last_post_seq_id: string; last_reaction_key: string }>(
        'SELECT last_post_seq_id, last_reaction_key FROM shared_channel_remotes WHERE channel_id = $1 AND remote_id = $2',
        [channel, remoteId],
      );
      expect(scr).toEqual({ last_post_seq_id: post.id, last_reaction_key: `${alice.id}:${post.id}:wave` });
    });
    await B.inst.query('DELETE FROM reactions WHERE post_id = $1', [post.id]);
    await B.inst.query('DELETE FROM posts WHERE id = $1', [post.id]);

    const result = await check(A.inst, A.token, channel, remoteId);
    expect(result).toMatchObject({ last_result: 'repaired', divergent: 2, repaired: 2 });
    expect(result.counts).toEqual({ posts: { divergent: 1, repaired: 1 }, reactions: { divergent: 1, repaired: 1 } });
    await converged([A.inst, B.inst], channel);
  }, 60_000);

  it('a root from before the share that went with its reply is the home\'s to keep there: the check finds nothing to remove', async () => {
    // Without ?history nothing old goes, except the root of a reply written after the share: the reply would be
    // refused without it, so the sender sends the root along. The check must count that root as handed over.
    const [A, B] = fed.sides;
    const remoteId = fed.remoteIds[1];
    const channel = await createChannel(A.inst, A.token, A.teamId, 'old-root');
    const alice = await memberOf(A, 'alice-old-root', channel);
    const root = await createPost(A.inst, alice.token, channel, 'before the share');
    const untouched = await createPost(A.inst, alice.token, channel, 'before the share, no reply');
    await shareWith(fed, channel, 1);
    const reply = await createPost(A.inst, alice.token, channel, 'after the share', { root_id: root.id });
    await eventually(async () => expect(await B.inst.query('SELECT id FROM posts WHERE id = ANY($1) ORDER BY id', [[root.id, reply.id]])).toHaveLength(2), {
      timeoutMs: 30_000,
    });

    const result = await check(A.inst, A.token, channel, remoteId);
    expect(result).toMatchObject({ last_result: 'consistent', divergent: 0, repaired: 0 });
    expect((await B.inst.query<{ id: string }>('SELECT id FROM posts WHERE id = ANY($1)', [[root.id, reply.id, untouched.id]])).map((r) => r.id).sort()).toEqual(
      [root.id, reply.id].sort(),
    );

    // And B losing that root is a divergence the home repairs.
    await B.inst.query('DELETE FROM posts WHERE id = $1', [root.id]);
    const repaired = await check(A.inst, A.token, channel, remoteId);
    expect(repaired).toMatchObject({ last_result: 'repaired', divergent: 1, repaired: 1 });
    expect(await B.inst.query('SELECT id FROM posts WHERE id = $1', [root.id])).toHaveLength(1);
  }, 60_000);

  it('only system admins see or run checks, and only for a shared pair', async () => {
    const [A] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'not-shared');
    const user = await memberOf(A, 'plain-c', channel);
    const path = `/api/v4/sharedchannels/${channel}/remotes/${fed.remoteIds[1]}/consistency`;
    expect((await http(A.inst, 'GET', path, { token: user.token })).status).toBe(403);
    expect((await http(A.inst, 'POST', path, { token: user.token })).status).toBe(403);
    const res = await http(A.inst, 'GET', path, { token: A.token });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ id: 'app.sync.consistency.not_shared', status_code: 404 });
  });

  it('checks a channel of 100,000 posts with digests of a few kilobytes', async () => {
    const [A, B] = fed.sides;
    const remoteId = fed.remoteIds[1];
    const channel = await createChannel(A.inst, A.token, A.teamId, 'big');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice-big', channel);
    await createPost(A.inst, alice.token, channel, 'the first');
    await converged([A.inst, B.inst], channel);

    // 100,000 posts written straight into both databases (the sync engine would take minutes), with A's cursor past
    // them in the same transaction: for the sync engine they were delivered long ago. Triggers are off for these
    // sessions (100,000 updates of one channel row in one transaction would take minutes): the rows get their channel
    // sequence numbers here.
    const N = 100_000;
    const bulk = (stamp: string, extra = '') => `BEGIN; SET LOCAL session_replication_role = replica;
      INSERT INTO posts (id, create_at, update_at, user_id, channel_id, message, remote_id, seq)
      SELECT substr(md5('big' || i), 1, 26), 1700000000000 + i, 1700000000000 + i, '${alice.id}', '${channel}', 'post ' || i, ${stamp},
             (SELECT last_seq FROM channels WHERE id = '${channel}') + i
        FROM generate_series(1, ${N}) AS i;
      UPDATE channels SET last_seq = last_seq + ${N} WHERE id = '${channel}';
      ${extra}
      COMMIT`;
    await A.inst.query(
      bulk(
        'NULL',
        `UPDATE shared_channel_remotes SET last_post_seq = (SELECT last_seq FROM channels WHERE id = '${channel}'), last_post_seq_id = 'zzzzzzzzzzzzzzzzzzzzzzzzzz'
          WHERE channel_id = '${channel}' AND remote_id = '${remoteId}';`,
      ),
    );
    await B.inst.query(bulk(`'${remoteId}'`));

    const consistent = await check(A.inst, A.token, channel, remoteId);
    expect(consistent).toMatchObject({ last_result: 'consistent', divergent: 0 });
    console.log(`consistency check of a consistent ${N.toLocaleString('en')}-post channel: ${consistent.digest_bytes} bytes of digests`);
    expect(consistent.digest_bytes).toBeLessThan(2_000);

    // Three posts lost on B: found among 100,001 and repaired, with a few kilobytes of digests.
    await B.inst.query(`DELETE FROM posts WHERE id IN (substr(md5('big7'), 1, 26), substr(md5('big50000'), 1, 26), substr(md5('big99999'), 1, 26))`);
    const repaired = await check(A.inst, A.token, channel, remoteId);
    expect(repaired).toMatchObject({ last_result: 'repaired', divergent: 3, repaired: 3 });
    console.log(`consistency check of a ${N.toLocaleString('en')}-post channel missing 3 posts: ${repaired.digest_bytes} bytes of digests, ${repaired.repair_bytes} bytes of repairs`);
    expect(repaired.digest_bytes).toBeLessThan(16_000);
    const [{ n }] = await B.inst.query<{ n: string }>('SELECT count(*) AS n FROM posts WHERE channel_id = $1 AND type = $2', [channel, '']);
    expect(Number(n)).toBe(N + 1);
    expect((await channelState(B.inst, channel)).posts.length).toBe(N + 1);
  }, 180_000);
});

describe('consistency check: periodic, and skipped for a Mattermost peer', () => {
  let fed: Federation;

  beforeAll(async () => {
    // A 6 s period: the trigger fires every second and each pair comes due once per period, in its own slot.
    fed = await startFederation(2, { CONSISTENCY_CHECK_INTERVAL_MS: '6000' });
  }, 90_000);
  afterAll(() => fed?.destroy());

  it('the home checks each of its shared channels with each remote on its own, every period', async () => {
    const [A, B, C] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'periodic');
    await shareWith(fed, channel, 1);
    await shareWith(fed, channel, 2);
    const alice = await memberOf(A, 'alice-p', channel);
    await createPost(A.inst, alice.token, channel, 'checked every period');
    await converged([A.inst, B.inst, C.inst], channel);
    for (const i of [1, 2]) {
      const row = await eventually(async () => {
        const res = await http<Consistency>(A.inst, 'GET', `/api/v4/sharedchannels/${channel}/remotes/${fed.remoteIds[i]}/consistency`, { token: A.token });
        expect(res.body.checks).toBeGreaterThanOrEqual(2);
        return res.body;
      }, { timeoutMs: 30_000, intervalMs: 500 });
      expect(row).toMatchObject({ peer: 'mmfed', last_result: 'consistent', divergent: 0 });
    }
    // Only the home runs them: the remotes have no record of a check they did not ask for.
    const onB = await http<Consistency>(B.inst, 'GET', `/api/v4/sharedchannels/${channel}/remotes/${fed.remoteIds[1]}/consistency`, { token: B.token });
    expect(onB.body.checks).toBe(0);
  }, 60_000);

  it('a peer that answers the topic as Mattermost does (OK, no payload) is recognised and left out', async () => {
    const [A] = fed.sides;
    const C = fed.sides[2];
    const remoteId = fed.remoteIds[2];
    const channel = await createChannel(A.inst, A.token, A.teamId, 'mm-peer');
    await shareWith(fed, channel, 2);
    const restore = unregisterTopic(C.inst, TOPIC_CONSISTENCY);
    try {
      const res = await http<Consistency>(A.inst, 'POST', `/api/v4/sharedchannels/${channel}/remotes/${remoteId}/consistency`, { token: A.token });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ peer: 'mattermost', last_result: 'not_supported', divergent: 0 });
      expect(await metricValue(A.inst, 'shared_channels_consistency_checks_total', { remote_id: remoteId, result: 'not_supported' })).toBe(1);
      // The periodic trigger passes it over from now on: a minute from now, B's channels are due and none of C's.
      const due = await A.inst.app!.get(ConsistencyRepository).claimDue(Date.now() + 60_000, 0, 6_000);
      expect(due.some((p) => p.remote_id === fed.remoteIds[1])).toBe(true);
      expect(due.filter((p) => p.remote_id === remoteId)).toEqual([]);
    } finally {
      restore();
    }
  }, 60_000);
});
