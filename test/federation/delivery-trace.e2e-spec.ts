import { DeliveryTrace } from '../../src/modules/remote-cluster/trace/delivery-trace.service.js';
import { TOPIC_SYNC, type SyncMsg } from '../../src/modules/shared-channel/wire.types.js';
import { createChannel, createPost, createUser } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { converged, type Federation, memberOf, shareWith, startFederation } from '../support/federation.js';
import { http } from '../support/http.js';
import type { Instance } from '../support/instance.js';
import { storedRemote } from '../support/remote-cluster.js';
import { wrapTopic } from '../support/topics.js';

interface TraceEvent {
  at: number;
  direction: string;
  kind: string;
  item_key: string;
  item_update_at: number;
  event: string;
  msg_id: string;
  sent_at: number;
  attempt: number;
  next_attempt_at: number;
  reason: string;
}
interface PostTrace {
  post_id: string;
  remotes: Array<{ remote_id: string; events: TraceEvent[] }>;
}
interface Envelope {
  at: number;
  direction: string;
  topic: string;
  msg_id: string;
  channel_id: string;
  items: Record<string, number>;
  bytes: number;
  result: string;
  duration_ms: number;
}

const postTrace = async (inst: Instance, token: string, postId: string) => {
  const res = await http<PostTrace>(inst, 'GET', `/api/v4/sharedchannels/trace/posts/${postId}`, { token });
  expect(res.status).toBe(200);
  return res.body;
};

const allTraceRows = async (inst: Instance) =>
  JSON.stringify([...(await inst.query('SELECT * FROM trace_envelopes')), ...(await inst.query('SELECT * FROM trace_items'))]);

/**
 * The delivery trace: every envelope in and out, and what became of each post (each version), reaction and
 * acknowledgement with each remote, kept a while, for system admins; never content or secrets.
 */
describe('delivery trace', () => {
  let fed: Federation;

  beforeAll(async () => {
    fed = await startFederation(1, { SYNC_POST_MAX_ATTEMPTS: '8', TRACE_RETENTION_HOURS: '1' });
  }, 60_000);
  afterAll(() => fed?.destroy());

  it('shows a post refused once (with the receiver\'s reason) and taken on its retry, its edit and reaction, and the envelopes', async () => {
    const [A, B] = fed.sides;
    const remoteId = fed.remoteIds[1];
    const channel = await createChannel(A.inst, A.token, A.teamId, 'traced');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(A, 'alice-t', channel);
    await createPost(A.inst, alice.token, channel, 'warm-up message');
    await converged([A.inst, B.inst], channel);

    // B's own receiver refuses the post the first time: the message it gets says the post was written a day from
    // now ("timestamp ahead of this server's clock"). Its retry arrives untouched and is taken.
    let refusals = 0;
    const restore = wrapTopic(B.inst, TOPIC_SYNC, (original) => async (remote, msg) => {
      const m = msg.payload as SyncMsg;
      if (refusals === 0 && m.posts?.some((p) => p.message === 'refuse me once')) {
        refusals++;
        const future = Date.now() + 24 * 3600 * 1000;
        return original(remote, { ...msg, payload: { ...m, posts: m.posts.map((p) => (p.message === 'refuse me once' ? { ...p, create_at: future, update_at: future } : p)) } });
      }
      return original(remote, msg);
    });
    let post: { id: string };
    try {
      post = await createPost(A.inst, alice.token, channel, 'refuse me once');
      await eventually(async () => expect(await B.inst.query('SELECT 1 FROM posts WHERE id = $1', [post.id])).toHaveLength(1), { timeoutMs: 20_000 });
    } finally {
      restore();
    }
    expect(refusals).toBe(1);
    expect((await http(A.inst, 'PUT', `/api/v4/posts/${post.id}/patch`, { token: alice.token, body: { message: 'the edited secret words' } })).status).toBe(200);
    expect((await http(A.inst, 'POST', '/api/v4/reactions', { token: alice.token, body: { user_id: alice.id, post_id: post.id, emoji_name: 'white_check_mark' } })).status).toBe(200);
    await converged([A.inst, B.inst], channel);

    // On the home: per remote, the first attempt rejected with B's reason, the retry scheduled, the retry accepted in
    // another envelope, then the edit (a newer version) and the reaction.
    const trace = await eventually(async () => {
      const t = await postTrace(A.inst, A.token, post.id);
      expect(t.remotes.map((r) => r.remote_id)).toEqual([remoteId]);
      const kinds = t.remotes[0].events.map((e) => `${e.kind}:${e.event}`);
      expect(kinds).toEqual(['post:rejected', 'post:retry', 'post:accepted', 'post:accepted', 'reaction:accepted']);
      return t.remotes[0].events;
    });
    const [rejected, retry, accepted, edit, reaction] = trace;
    expect(rejected).toMatchObject({ direction: 'out', item_key: post.id, attempt: 0 });
    expect(rejected.reason).toContain("timestamp ahead of this server's clock");
    expect(retry).toMatchObject({ attempt: 1 });
    expect(retry.reason).toContain('refused by');
    expect(retry.next_attempt_at).toBeGreaterThan(rejected.at);
    expect(accepted.msg_id).not.toBe(rejected.msg_id);
    expect(accepted.sent_at).toBeGreaterThanOrEqual(retry.next_attempt_at);
    expect(accepted.item_update_at).toBe(rejected.item_update_at);
    expect(edit.item_update_at).toBeGreaterThan(accepted.item_update_at);
    expect(reaction).toMatchObject({ kind: 'reaction', item_key: `${alice.id}:${post.id}:white_check_mark` });
    for (const e of [rejected, accepted, edit, reaction]) expect(e.sent_at).toBeGreaterThan(0);

    // On B: what it refused and why.
    const onB = await postTrace(B.inst, B.token, post.id);
    expect(onB.remotes[0].events).toMatchObject([{ direction: 'in', kind: 'post', event: 'refused', msg_id: rejected.msg_id, reason: "timestamp ahead of this server's clock" }]);

    // The envelopes of both attempts, on both sides, by message id; and the lists' filters.
    for (const [inst, token, direction] of [[A.inst, A.token, 'out'], [B.inst, B.token, 'in']] as const) {
      for (const m of [rejected.msg_id, accepted.msg_id]) {
        const res = await http<Envelope[]>(inst, 'GET', `/api/v4/remotecluster/${remoteId}/trace?msg_id=${m}`, { token });
        expect(res.status).toBe(200);
        expect(res.body).toHaveLength(1);
        expect(res.body[0]).toMatchObject({ direction, topic: TOPIC_SYNC, msg_id: m, channel_id: channel, result: 'ok' });
        expect(res.body[0].items.posts).toBeGreaterThanOrEqual(1);
        expect(res.body[0].bytes).toBeGreaterThan(0);
      }
    }
    const pings = await http<Envelope[]>(A.inst, 'GET', `/api/v4/remotecluster/${remoteId}/trace?topic=ping&direction=out&per_page=5`, { token: A.token });
    expect(pings.body.length).toBe(5);
    expect(pings.body.every((e) => e.topic === 'ping' && e.direction === 'out')).toBe(true);
    expect(pings.body.map((e) => e.at)).toEqual([...pings.body.map((e) => e.at)].sort((x, y) => y - x));
    const recent = await http<Envelope[]>(A.inst, 'GET', `/api/v4/remotecluster/${remoteId}/trace?channel_id=${channel}&since=${rejected.sent_at}`, { token: A.token });
    expect(recent.body.every((e) => e.channel_id === channel && e.at >= rejected.sent_at)).toBe(true);
    expect(recent.body.map((e) => e.msg_id)).toEqual(expect.arrayContaining([rejected.msg_id, accepted.msg_id]));
    expect((await http(A.inst, 'GET', `/api/v4/remotecluster/${remoteId}/trace?result=maybe`, { token: A.token })).status).toBe(400);

    // System admins only.
    const user = await createUser(A.inst, A.token, 'not-an-admin-t');
    expect((await http(A.inst, 'GET', `/api/v4/sharedchannels/trace/posts/${post.id}`, { token: user.token })).status).toBe(403);
    expect((await http(A.inst, 'GET', `/api/v4/remotecluster/${remoteId}/trace`, { token: user.token })).status).toBe(403);
    expect((await http(A.inst, 'GET', `/api/v4/remotecluster/${remoteId}/trace`)).status).toBe(401);

    // No row on either side holds a message's text, a session token or a connection's token.
    await A.inst.app!.get(DeliveryTrace).flush();
    await B.inst.app!.get(DeliveryTrace).flush();
    const secrets = [
      'refuse me once',
      'the edited secret words',
      'warm-up message',
      A.token,
      B.token,
      alice.token,
      user.token,
      (await storedRemote(A.inst, remoteId)).remote_token as string,
      (await storedRemote(B.inst, remoteId)).remote_token as string,
    ];
    for (const inst of [A.inst, B.inst]) {
      const rows = await allTraceRows(inst);
      expect(rows.length).toBeGreaterThan(1000);
      for (const secret of secrets) {
        expect(secret.length).toBeGreaterThan(10);
        expect(rows).not.toContain(secret);
      }
    }
  }, 90_000);

  it('prunes what is older than TRACE_RETENTION_HOURS, and only that', async () => {
    const [A] = fed.sides;
    const trace = A.inst.app!.get(DeliveryTrace);
    await trace.flush();
    const hour = 3600 * 1000;
    await A.inst.query('UPDATE trace_envelopes SET at = at - $1::bigint WHERE id IN (SELECT id FROM trace_envelopes ORDER BY id LIMIT 10)', [2 * hour]);
    await A.inst.query('UPDATE trace_items SET at = at - $1::bigint WHERE id IN (SELECT id FROM trace_items ORDER BY id LIMIT 3)', [2 * hour]);
    const count = async (table: string) => Number((await A.inst.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0].n);
    const before = { envelopes: await count('trace_envelopes'), items: await count('trace_items') };
    expect(await trace.prune()).toEqual({ envelopes: 10, items: 3 });
    await trace.flush();
    expect(await count('trace_items')).toBe(before.items - 3);
    expect(await count('trace_envelopes')).toBeGreaterThanOrEqual(before.envelopes - 10);
    expect(Number((await A.inst.query<{ n: string }>('SELECT count(*) AS n FROM trace_envelopes WHERE at < $1', [Date.now() - hour]))[0].n)).toBe(0);
  });
});
