import { newId } from '../../src/common/ids.js';
import { TOPIC_TOKEN_ROTATION } from '../../src/modules/remote-cluster/remote-cluster-tokens.service.js';
import { TopicRegistry, type TopicHandler } from '../../src/modules/remote-cluster/topic-registry.service.js';
import { createChannel, createPost, type TestUser } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { converged, type Federation, memberOf, shareWith, startFederation } from '../support/federation.js';
import { http } from '../support/http.js';
import type { Instance } from '../support/instance.js';
import { metricValue, remoteHeaders, storedRemote } from '../support/remote-cluster.js';

const OVERLAP_MS = 1500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 401s this instance answered on the server-to-server routes, from its own http_requests_total. */
async function serverToServer401s(inst: Instance): Promise<number> {
  const text = (await http<string>(inst, 'GET', '/metrics')).text;
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('http_requests_total{') && line.includes('route="/api/v4/remotecluster') && line.includes('status="401"')) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

function ping(to: Instance, remoteId: string, token: string) {
  return http(to, 'POST', '/api/v4/remotecluster/ping', {
    headers: remoteHeaders(remoteId, token),
    rawBody: JSON.stringify({ remote_id: remoteId, msg: { id: newId(), topic: 'ping', create_at: Date.now(), payload: { sent_at: 1 } } }),
  });
}

/**
 * POST /api/v4/remotecluster/{remote_id}/rotate_token between two of our servers while both write to a shared
 * channel: every message still authenticates (the previous tokens overlap), and once the overlap has passed the
 * old tokens are refused. A peer that does not know the topic (Mattermost) keeps its tokens and keeps working.
 */
describe('secure connection token rotation', () => {
  let fed: Federation;
  let channel: string;
  let alice: TestUser;
  let bob: TestUser;
  let remoteId: string;

  beforeAll(async () => {
    fed = await startFederation(1, { REMOTE_TOKEN_OVERLAP_MS: String(OVERLAP_MS) });
    const [A, B] = fed.sides;
    remoteId = fed.remoteIds[1];
    channel = await createChannel(A.inst, A.token, A.teamId, 'rotating');
    await shareWith(fed, channel, 1);
    alice = await memberOf(A, 'alice-rot', channel);
    bob = await memberOf(B, 'bob-rot', channel);
    await createPost(A.inst, alice.token, channel, 'warm up');
    await converged([A.inst, B.inst], channel);
  }, 60_000);
  afterAll(() => fed?.destroy());

  it('rotates both tokens under a steady sync load: no message refused, old tokens refused after the overlap', async () => {
    const [A, B] = fed.sides;
    const oldAtoB = (await storedRemote(A.inst, remoteId)).remote_token as string;
    const oldBtoA = (await storedRemote(B.inst, remoteId)).remote_token as string;
    const errorsBefore = await Promise.all([A, B].map((s) => metricValue(s.inst, 'remote_cluster_msg_errors_total')));
    const refusedBefore = await Promise.all([A, B].map((s) => serverToServer401s(s.inst)));

    let stop = false;
    const written: string[] = [];
    const writer = async (inst: Instance, user: TestUser, tag: string) => {
      for (let i = 0; !stop; i++) {
        written.push((await createPost(inst, user.token, channel, `${tag} ${i}`)).id);
        await sleep(20);
      }
    };
    const load = Promise.all([writer(A.inst, alice, 'from A'), writer(B.inst, bob, 'from B')]);
    await sleep(500);

    const rotated = await http(A.inst, 'POST', `/api/v4/remotecluster/${remoteId}/rotate_token`, { token: A.token });
    expect({ status: rotated.status, body: rotated.body }).toEqual({ status: 200, body: { status: 'OK' } });
    const newAtoB = (await storedRemote(A.inst, remoteId)).remote_token as string;
    const newBtoA = (await storedRemote(B.inst, remoteId)).remote_token as string;
    expect(newAtoB).not.toBe(oldAtoB);
    expect(newBtoA).not.toBe(oldBtoA);

    // Keep writing through and past the overlap window.
    await sleep(OVERLAP_MS + 1000);
    stop = true;
    await load;
    const state = await converged([A.inst, B.inst], channel, 30_000);
    expect(state.posts.map((p) => p.id)).toEqual(expect.arrayContaining(written));
    console.info(`${written.length} posts written during the rotation, all on both sides`);

    // Nothing was refused, on either side, in either direction.
    expect(await Promise.all([A, B].map((s) => serverToServer401s(s.inst)))).toEqual(refusedBefore);
    expect(await Promise.all([A, B].map((s) => metricValue(s.inst, 'remote_cluster_msg_errors_total')))).toEqual(errorsBefore);
    expect(await A.inst.query('SELECT post_id FROM sync_item_retries')).toEqual([]);
    expect(await B.inst.query('SELECT post_id FROM sync_item_retries')).toEqual([]);

    // Each side has seen the other use its new token, and the previous one's overlap has run out.
    for (const inst of [A.inst, B.inst]) {
      await eventually(async () => {
        const row = await storedRemote(inst, remoteId);
        expect(row.pending_token).toBe('');
        expect(Number(row.previous_token_expires_at)).toBeGreaterThan(0);
        expect(Number(row.previous_token_expires_at)).toBeLessThan(Date.now());
      });
    }
    expect((await ping(A.inst, remoteId, oldBtoA)).status).toBe(401);
    expect((await ping(B.inst, remoteId, oldAtoB)).status).toBe(401);
    expect((await ping(A.inst, remoteId, newBtoA)).status).toBe(200);
    expect((await ping(B.inst, remoteId, newAtoB)).status).toBe(200);
  }, 60_000);

  it('refuses a second rotation while the first one\'s overlap runs (409), and allows it afterwards', async () => {
    const [A] = fed.sides;
    const first = await http(A.inst, 'POST', `/api/v4/remotecluster/${remoteId}/rotate_token`, { token: A.token });
    expect(first.status).toBe(200);
    // B talks to A within a ping interval or a sync, which starts A's overlap.
    await eventually(async () => expect(Number((await storedRemote(A.inst, remoteId)).previous_token_expires_at)).toBeGreaterThan(Date.now()));
    const second = await http(A.inst, 'POST', `/api/v4/remotecluster/${remoteId}/rotate_token`, { token: A.token });
    expect({ status: second.status, id: second.body.id }).toEqual({ status: 409, id: 'api.remote_cluster.rotate_token.in_progress.app_error' });
    for (const inst of fed.sides.map((s) => s.inst)) {
      await eventually(async () => {
        const row = await storedRemote(inst, remoteId);
        expect(row.pending_token).toBe('');
        expect(Number(row.previous_token_expires_at)).toBeLessThan(Date.now());
      }, { timeoutMs: OVERLAP_MS * 4 });
    }
    const third = await http(A.inst, 'POST', `/api/v4/remotecluster/${remoteId}/rotate_token`, { token: A.token });
    expect(third.status).toBe(200);
  }, 30_000);

  it('keeps the current tokens when the peer does not know the topic, as a Mattermost peer answers it', async () => {
    const [A, B] = fed.sides;
    // The previous test's rotation has finished on both sides: each has seen its new token, the window is over.
    for (const inst of [A.inst, B.inst]) {
      await eventually(async () => {
        const row = await storedRemote(inst, remoteId);
        expect(row.pending_token).toBe('');
        expect(Number(row.previous_token_expires_at)).toBeLessThan(Date.now());
      }, { timeoutMs: OVERLAP_MS * 4 });
    }
    const before = { a: await storedRemote(A.inst, remoteId), b: await storedRemote(B.inst, remoteId) };
    // B forgets the topic: /msg then answers {"status":"OK","err":"","payload":null}, Mattermost's unknown-topic reply.
    const handlers = (B.inst.app!.get(TopicRegistry) as unknown as { handlers: Map<string, TopicHandler> }).handlers;
    const original = handlers.get(TOPIC_TOKEN_ROTATION)!;
    handlers.delete(TOPIC_TOKEN_ROTATION);
    try {
      const res = await http(A.inst, 'POST', `/api/v4/remotecluster/${remoteId}/rotate_token`, { token: A.token });
      expect({ status: res.status, id: res.body.id }).toEqual({ status: 422, id: 'api.remote_cluster.rotate_token.unsupported.app_error' });
    } finally {
      handlers.set(TOPIC_TOKEN_ROTATION, original);
    }
    const after = { a: await storedRemote(A.inst, remoteId), b: await storedRemote(B.inst, remoteId) };
    for (const side of ['a', 'b'] as const) {
      for (const field of ['token_hash', 'remote_token', 'pending_token']) expect(after[side][field]).toBe(before[side][field]);
    }
    expect((await ping(A.inst, remoteId, before.b.remote_token as string)).status).toBe(200);
    expect((await ping(B.inst, remoteId, before.a.remote_token as string)).status).toBe(200);
    const post = await createPost(A.inst, alice.token, channel, 'still syncing');
    await eventually(async () => expect(await B.inst.query('SELECT id FROM posts WHERE id = $1', [post.id])).toHaveLength(1));
  }, 30_000);
});
