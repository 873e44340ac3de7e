import { newId } from '../../src/common/ids.js';
import { decryptInvite } from '../../src/modules/remote-cluster/invite-crypto.js';
import type { RemoteClusterJson } from '../../src/modules/remote-cluster/remote-cluster.mapper.js';
import { RemoteClusterService } from '../../src/modules/remote-cluster/remote-cluster.service.js';
import { TopicRegistry } from '../../src/modules/remote-cluster/topic-registry.service.js';
import { http, type HttpResult } from '../support/http.js';
import { startPair, type Instance } from '../support/instance.js';
import {
  acceptInvite,
  adminWithTeam,
  createRemote,
  metricValue,
  remoteHeaders,
  storedRemote,
  type AdminSide,
} from '../support/remote-cluster.js';

/**
 * The server-to-server endpoints under hostile or sloppy input, sent as raw requests: every failure is a clean
 * 4xx AppError, never a 500. Also the handshake's refusals (expired invite, wrong password, confirming twice)
 * and /msg dispatch to registered and unknown topics.
 */
describe('remote cluster protocol endpoints', () => {
  let a: Instance;
  let b: Instance;
  let adminA: AdminSide;
  let adminB: AdminSide;
  let remoteId: string;
  let tokenFromB: string;
  let inviteToken: string;
  let invite: { code: string; password: string };
  const statuses: number[] = [];

  function frame(topic: string, payload: unknown, id = remoteId): Record<string, unknown> {
    return { remote_id: id, msg: { id: newId(), topic, create_at: Date.now(), payload } };
  }

  async function toA(path: string, opts: { body?: unknown; rawBody?: string | Buffer; headers?: Record<string, string> } = {}): Promise<HttpResult<any>> {
    const headers = opts.headers ?? remoteHeaders(remoteId, tokenFromB);
    const res = await http(a, 'POST', `/api/v4/remotecluster/${path}`, {
      headers,
      ...(opts.rawBody !== undefined ? { rawBody: opts.rawBody } : { rawBody: JSON.stringify(opts.body) }),
    });
    statuses.push(res.status);
    return res;
  }

  function expectAppError(res: HttpResult<any>, status: number, id: string): void {
    expect({ status: res.status, id: res.body?.id }).toEqual({ status, id });
    expect(res.body).toMatchObject({ status_code: status, request_id: expect.any(String), detailed_error: expect.any(String) });
  }

  beforeAll(async () => {
    [a, b] = await startPair();
    [adminA, adminB] = await Promise.all([adminWithTeam(a), adminWithTeam(b)]);
    a.app!.get(TopicRegistry).register('test_echo', (remote: RemoteClusterJson, msg) => ({ echo: msg.payload, from: remote }));
    a.app!.get(TopicRegistry).register('test_fail', () => {
      throw new Error('channel is no longer shared: c1');
    });
  });
  afterAll(async () => {
    await Promise.all([a?.destroy(), b?.destroy()]);
  });

  afterEach(() => {
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
  });

  it('refuses an expired invite on the inviting side, and the acceptor keeps nothing', async () => {
    const created = await createRemote(adminA, 'expired-b');
    const expiredId = created.remote_cluster.remote_id;
    await a.query('UPDATE remote_clusters SET create_at = $2 WHERE remote_id = $1', [expiredId, Date.now() - 49 * 3600 * 1000]);

    const res = await acceptInvite(adminB, 'expired-a', created.invite, created.password!);
    expectAppError(res, 400, 'api.remote_cluster.accept_invitation_error');
    expect(res.body.detailed_error).toContain('api.context.invitation_expired.error');
    expect(await b.query('SELECT 1 FROM remote_clusters WHERE remote_id = $1', [expiredId])).toEqual([]);
    expect((await storedRemote(a, expiredId)).site_url).toMatch(/^pending_/);

    // Raw: the invite's own credentials on confirm_invite answer the expiry directly.
    const t1 = (await decryptInvite(created.invite, created.password!)).token;
    const raw = await toA('confirm_invite', {
      headers: remoteHeaders(expiredId, t1),
      body: frame('invitation', { remote_id: expiredId, remote_team_id: '', site_url: b.url, token: newId(), refreshed_token: newId(), version: 3 }, expiredId),
    });
    expectAppError(raw, 400, 'api.context.invitation_expired.error');
  });

  it('answers a wrong password or a malformed invite with 400', async () => {
    const created = await createRemote(adminA, 'acme-b', 'the-right-password');
    expect(created.password).toBeUndefined();
    invite = { code: created.invite, password: 'the-right-password' };
    remoteId = created.remote_cluster.remote_id;

    expectAppError(await acceptInvite(adminB, 'acme-a', invite.code, 'the-wrong-password'), 400, 'api.remote_cluster.invite_decrypt_error');
    expectAppError(await acceptInvite(adminB, 'acme-a', 'not base64 at all!', invite.password), 400, 'api.remote_cluster.base64_decode_error');
    expectAppError(await acceptInvite(adminB, 'acme-a', 'AAAA', invite.password), 400, 'api.remote_cluster.invite_decrypt_error');
    expectAppError(await acceptInvite(adminB, 'acme-a', invite.code.slice(0, -8), invite.password), 400, 'api.remote_cluster.invite_decrypt_error');
    const standardAlphabet = `${invite.code.slice(0, 10)}+/${invite.code.slice(12)}`;
    expectAppError(await acceptInvite(adminB, 'acme-a', standardAlphabet, invite.password), 400, 'api.remote_cluster.base64_decode_error');
    const wrongType = await http(b, 'POST', '/api/v4/remotecluster/accept_invite', {
      token: adminB.token,
      body: { name: 'acme-a', default_team_id: adminB.teamId, invite: 42, password: 'x' },
    });
    expectAppError(wrongType, 400, 'api.context.invalid_body_param.app_error');
    const noTeam = await http(b, 'POST', '/api/v4/remotecluster/accept_invite', {
      token: adminB.token,
      body: { name: 'acme-a', default_team_id: newId(), invite: invite.code, password: invite.password },
    });
    expectAppError(noTeam, 400, 'api.context.invalid_param.app_error');
    expect(await b.query('SELECT 1 FROM remote_clusters')).toEqual([]);
  });

  it('connects with the right password; accepting the same invite again fails', async () => {
    const ok = await acceptInvite(adminB, 'acme-a', invite.code, invite.password);
    expect(ok.status).toBe(201);
    tokenFromB = (await storedRemote(b, remoteId)).remote_token as string;
    inviteToken = (await decryptInvite(invite.code, invite.password)).token;
    expect(tokenFromB).not.toBe(inviteToken);

    expectAppError(await acceptInvite(adminB, 'acme-a', invite.code, invite.password), 400, 'api.remote_cluster.save_not_unique.app_error');
  });

  it('fails a second confirmation: 401 with the retired invite token, 400 with the live one', async () => {
    const confirmation = { remote_id: remoteId, remote_team_id: '', site_url: 'http://127.0.0.1:9', token: newId(), refreshed_token: newId(), version: 3 };
    const withInviteToken = await toA('confirm_invite', { headers: remoteHeaders(remoteId, inviteToken), body: frame('invitation', confirmation) });
    expectAppError(withInviteToken, 401, 'api.context.invalid_token.error');
    const withLiveToken = await toA('confirm_invite', { body: frame('invitation', confirmation) });
    expectAppError(withLiveToken, 400, 'api.command_remote.confirm_invitation.error');
    // Nothing changed: B still reaches A.
    expect((await storedRemote(a, remoteId)).site_url).toBe(b.url);
    expect((await toA('ping', { body: frame('ping', { sent_at: 1 }) })).status).toBe(200);
  });

  it('answers a ping with the bare ping object, under either header spelling', async () => {
    const before = Date.now();
    const res = await toA('ping', { body: frame('ping', { sent_at: 1735732800000, recv_at: 0 }) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(Object.keys(res.body)).toEqual(['sent_at', 'recv_at']);
    expect(res.body.sent_at).toBe(1735732800000);
    expect(res.body.recv_at).toBeGreaterThanOrEqual(before);

    const mm = await toA('ping', {
      headers: { 'X-MM-RemoteCluster-Id': remoteId, 'X-MM-RemoteCluster-Token': tokenFromB, 'Content-Type': 'application/json' },
      body: frame('ping', { sent_at: 5 }),
    });
    expect(mm.status).toBe(200);
    expect(mm.body.sent_at).toBe(5);
  });

  it('answers a wrong token, an unknown remote or no credentials with 401', async () => {
    for (const path of ['ping', 'msg', 'confirm_invite']) {
      const body = frame(path === 'ping' ? 'ping' : 'test_echo', {});
      expectAppError(await toA(path, { headers: remoteHeaders(remoteId, newId()), body }), 401, 'api.context.invalid_token.error');
      expectAppError(await toA(path, { headers: remoteHeaders(newId(), tokenFromB), body }), 401, 'api.context.invalid_token.error');
      expectAppError(await toA(path, { headers: { 'Content-Type': 'application/json' }, body }), 401, 'api.context.session_expired.app_error');
      expectAppError(
        await toA(path, { headers: { 'X-RemoteCluster-Token': tokenFromB, 'Content-Type': 'application/json' }, body }),
        401,
        'api.context.remote_id_missing.app_error',
      );
    }
  });

  it('answers a frame naming another remote with 400 remote_id_invalid', async () => {
    for (const path of ['ping', 'msg', 'confirm_invite']) {
      const res = await toA(path, { body: frame('test_echo', { sent_at: 1 }, newId()) });
      expectAppError(res, 400, 'api.context.remote_id_invalid.app_error');
    }
  });

  it('answers garbage and malformed frames with 400', async () => {
    const m = (fields: Record<string, unknown>) => ({ remote_id: remoteId, msg: { id: newId(), topic: 'test_echo', create_at: 1, payload: {}, ...fields } });
    const cases: Array<[string | Buffer, string]> = [
      ['{"remote_id": ', 'api.unmarshal_error'],
      ['not json at all', 'api.unmarshal_error'],
      ['"a string"', 'api.unmarshal_error'],
      ['[1,2,3]', 'api.unmarshal_error'],
      [Buffer.from([0xff, 0xfe, 0x00, 0x7b]), 'api.unmarshal_error'],
      ['{}', 'api.remote_cluster.invalid_id.app_error'],
      [JSON.stringify({ remote_id: remoteId }), 'api.remote_cluster.invalid_id.app_error'],
      [JSON.stringify({ remote_id: remoteId, msg: 'x' }), 'api.unmarshal_error'],
      [JSON.stringify({ remote_id: 42, msg: {} }), 'api.unmarshal_error'],
      [JSON.stringify(m({ id: 'short' })), 'api.remote_cluster.invalid_id.app_error'],
      [JSON.stringify(m({ topic: '' })), 'api.remote_cluster.invalid_topic.app_error'],
      [JSON.stringify(m({ topic: 'x'.repeat(500) })), 'api.remote_cluster.invalid_topic.app_error'],
      [JSON.stringify(m({ create_at: 'yesterday' })), 'api.unmarshal_error'],
      [JSON.stringify(m({ payload: undefined })), 'api.context.invalid_body_param.app_error'],
    ];
    for (const path of ['ping', 'msg', 'confirm_invite']) {
      for (const [rawBody, id] of cases) {
        const res = await toA(path, { rawBody });
        expect({ path, body: String(rawBody).slice(0, 60), status: res.status, id: res.body?.id }).toEqual({
          path,
          body: String(rawBody).slice(0, 60),
          status: 400,
          id,
        });
      }
    }
    // Payloads the endpoint cannot use.
    expectAppError(await toA('ping', { body: frame('ping', 'not an object') }), 400, 'api.context.invalid_param.app_error');
    expectAppError(await toA('ping', { body: frame('ping', { sent_at: 'noon' }) }), 400, 'api.context.invalid_param.app_error');
    expectAppError(await toA('confirm_invite', { body: frame('invitation', [1]) }), 400, 'api.context.invalid_param.app_error');
    // A body that is not JSON-typed never reaches the parser.
    const textBody = await toA('msg', { rawBody: JSON.stringify(frame('test_echo', {})), headers: { ...remoteHeaders(remoteId, tokenFromB), 'Content-Type': 'text/plain' } });
    expectAppError(textBody, 400, 'api.unmarshal_error');
  });

  it('answers a body over the 16 MiB limit with 413', async () => {
    const huge = JSON.stringify(frame('test_echo', { blob: 'x'.repeat(17 * 1024 * 1024) }));
    expectAppError(await toA('msg', { rawBody: huge }), 413, 'api.context.request_body_too_large.app_error');
    // Large but under the limit is fine: sync batches can be big.
    const large = await toA('msg', { body: frame('test_echo', { blob: 'y'.repeat(4 * 1024 * 1024) }) });
    expect(large.status).toBe(200);
    expect(large.body.payload.echo.blob).toHaveLength(4 * 1024 * 1024);
  });

  it('dispatches /msg to the registered handler with the sanitised sender, 200 even on FAIL', async () => {
    const ok = await toA('msg', { body: frame('test_echo', { n: 1 }) });
    expect(ok.status).toBe(200);
    expect(Object.keys(ok.body)).toEqual(['status', 'err', 'payload']);
    expect(ok.body).toMatchObject({ status: 'OK', err: '', payload: { echo: { n: 1 } } });
    expect(ok.body.payload.from).toMatchObject({ remote_id: remoteId, site_url: b.url, token: '', remote_token: '' });

    const failed = await toA('msg', { body: frame('test_fail', null) });
    expect(failed.status).toBe(200);
    expect(failed.body).toEqual({ status: 'FAIL', err: 'channel is no longer shared: c1', payload: null });
  });

  it('answers an unknown topic OK with a null payload, and counts it', async () => {
    const before = await metricValue(a, 'remote_cluster_msg_unknown_topic_total', { remote_id: remoteId });
    const res = await toA('msg', { body: frame('sharedchannel_from_the_future', { x: 1 }) });
    expect(res.status).toBe(200);
    expect(res.text).toBe('{"status":"OK","err":"","payload":null}');
    expect(await metricValue(a, 'remote_cluster_msg_unknown_topic_total', { remote_id: remoteId })).toBe(before + 1);
    expect(await metricValue(a, 'remote_cluster_msg_received_total', { remote_id: remoteId })).toBeGreaterThan(0);
  });

  it('sends a message through the real transport from B to A and gets the Response', async () => {
    const sentBefore = await metricValue(b, 'remote_cluster_msg_sent_total', { remote_id: remoteId });
    const reply = await b.app!.get(RemoteClusterService).sendMsg(remoteId, 'test_echo', { hello: 'A' });
    expect(reply).toMatchObject({ status: 'OK', err: '', payload: { echo: { hello: 'A' } } });
    const failed = await b.app!.get(RemoteClusterService).sendMsg(remoteId, 'test_fail', {});
    expect(failed).toEqual({ status: 'FAIL', err: 'channel is no longer shared: c1', payload: null });
    expect(await metricValue(b, 'remote_cluster_msg_sent_total', { remote_id: remoteId })).toBe(sentBefore + 2);
    await expect(b.app!.get(RemoteClusterService).sendMsg(newId(), 'test_echo', {})).rejects.toMatchObject({ kind: 'rejected', permanent: true });
  });

  it('limits failed invitation attempts per client: 429 once the window is used up, even for a right password', async () => {
    const results: number[] = [];
    for (let i = 0; i < 11; i++) results.push((await acceptInvite(adminB, 'acme-a', 'AAAA', 'x')).status);
    expect(results.filter((s) => s === 400).length).toBeLessThanOrEqual(10);
    expect(results.at(-1)).toBe(429);
    expect(results.every((s) => s === 400 || s === 429)).toBe(true);
    expect(results.slice(results.indexOf(429)).every((s) => s === 429)).toBe(true);
    const fresh = await createRemote(adminA, 'later-b', 'pw-for-later');
    expectAppError(await acceptInvite(adminB, 'later-a', fresh.invite, 'pw-for-later'), 429, 'api.remote_cluster.accept_invite.rate_limited.app_error');
  });

  it('stops authenticating a peer once its connection is deleted', async () => {
    const del = await http(a, 'DELETE', `/api/v4/remotecluster/${remoteId}`, { token: adminA.token });
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ status: 'OK' });
    expectAppError(await toA('ping', { body: frame('ping', { sent_at: 1 }) }), 401, 'api.context.invalid_token.error');
    expectAppError(await toA('msg', { body: frame('test_echo', {}) }), 401, 'api.context.invalid_token.error');
  });
});
