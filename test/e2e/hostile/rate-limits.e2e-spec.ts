import { newId } from '../../../src/common/ids.js';
import { createUser } from '../../support/chat.js';
import { http, type HttpResult } from '../../support/http.js';
import { startInstance, TEST_ADMIN, type Instance } from '../../support/instance.js';
import { adminWithTeam, connect, remoteHeaders, storedRemote } from '../../support/remote-cluster.js';

const PER_ACCOUNT = 3;
const PER_ADDRESS = 6;
const PER_REMOTE = 12;

/**
 * Rate limits, counted in Redis so replicas share them: failed logins per account and per client address, requests
 * per remote on the server-to-server routes. Beyond a limit: 429 with Retry-After and an AppError body.
 * TRUST_PROXY=loopback lets each test speak from an address of its own (X-Forwarded-For).
 */
describe('rate limits', () => {
  let a1: Instance;
  let a2: Instance;
  let b: Instance;
  let c: Instance;
  const env = {
    TRUST_PROXY: 'loopback',
    RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT: String(PER_ACCOUNT),
    RATE_LIMIT_LOGIN_FAILURES_PER_ADDRESS: String(PER_ADDRESS),
    RATE_LIMIT_REMOTE_REQUESTS: String(PER_REMOTE),
    RATE_LIMIT_REMOTE_WINDOW_MS: '60000',
  };
  let address = 0;
  /** A client address no other test has used. */
  const nextAddress = () => `192.0.2.${++address}`;

  beforeAll(async () => {
    a1 = await startInstance('A', env);
    // A second replica of the same server: same database, same Redis prefix.
    a2 = await startInstance('A2', { ...env, DATABASE_URL: a1.config.database.url, QUEUE_PREFIX: a1.queuePrefix });
    [b, c] = await Promise.all([startInstance('B'), startInstance('C')]);
  });
  afterAll(async () => {
    await a2?.stop();
    await Promise.all([a1?.destroy(), b?.destroy(), c?.destroy()]);
  });

  function loginAs(inst: Instance, from: string, loginId: string, password: string): Promise<HttpResult<any>> {
    return http(inst, 'POST', '/api/v4/users/login', { body: { login_id: loginId, password }, headers: { 'X-Forwarded-For': from } });
  }

  function expect429(res: HttpResult<any>, id: string): void {
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(res.body).toMatchObject({ id, status_code: 429, request_id: expect.any(String) });
  }

  it('failed logins of one account are limited across replicas; then even the right password waits', async () => {
    const admin = await loginAs(a1, nextAddress(), TEST_ADMIN.username, TEST_ADMIN.password);
    const user = await createUser(a1, admin.headers.get('token')!, 'limited-user');
    const password = `${user.username}-password`;
    // Each failure from a new address, alternating replicas: only the per-account count can stop them.
    for (let i = 0; i < PER_ACCOUNT; i++) {
      expect((await loginAs(i % 2 ? a2 : a1, nextAddress(), user.username, 'wrong-password')).status).toBe(401);
    }
    expect429(await loginAs(a2, nextAddress(), user.username, password), 'api.user.check_user_login_attempts.too_many.app_error');
    expect429(await loginAs(a1, nextAddress(), user.username.toUpperCase(), password), 'api.user.check_user_login_attempts.too_many.app_error');
    // Other accounts are not affected.
    expect((await loginAs(a1, nextAddress(), TEST_ADMIN.username, TEST_ADMIN.password)).status).toBe(200);
  });

  it('failed logins from one address are limited across replicas, whatever accounts they try', async () => {
    const from = nextAddress();
    for (let i = 0; i < PER_ADDRESS; i++) {
      expect((await loginAs(i % 2 ? a2 : a1, from, `nobody-${i}`, 'x')).status).toBe(401);
    }
    expect429(await loginAs(a1, from, TEST_ADMIN.username, TEST_ADMIN.password), 'api.context.rate_limited.app_error');
    expect429(await loginAs(a2, from, TEST_ADMIN.username, TEST_ADMIN.password), 'api.context.rate_limited.app_error');
    expect((await loginAs(a2, nextAddress(), TEST_ADMIN.username, TEST_ADMIN.password)).status).toBe(200);
  });

  it('successful logins do not use up the limits', async () => {
    const from = nextAddress();
    for (let i = 0; i < PER_ADDRESS + PER_ACCOUNT; i++) {
      expect((await loginAs(i % 2 ? a2 : a1, from, TEST_ADMIN.username, TEST_ADMIN.password)).status).toBe(200);
    }
  });

  it('each remote has its own budget of server-to-server requests, shared by the replicas; a forged id uses none of it', async () => {
    // B and C connected to A; the tokens are what they present (A keeps only hashes).
    const [adminA, adminB, adminC] = [await adminWithTeam(a1), await adminWithTeam(b), await adminWithTeam(c)];
    const [first, second] = [await connect(adminA, adminB), await connect(adminA, adminC)];
    const peerOf = new Map([[first, b], [second, c]]);
    const ping = async (inst: Instance, remoteId: string, token?: string) =>
      http(inst, 'POST', '/api/v4/remotecluster/ping', {
        headers: remoteHeaders(remoteId, token ?? ((await storedRemote(peerOf.get(remoteId)!, remoteId)).remote_token as string)),
        body: { remote_id: remoteId, msg: { id: newId(), topic: 'ping', create_at: Date.now(), payload: { sent_at: Date.now() } } },
      });
    // Someone without the token cannot spend the remote's budget.
    for (let i = 0; i < PER_REMOTE * 2; i++) expect((await ping(a1, first, 'not-the-token')).status).toBe(401);
    // The handshake and B's first heartbeat spent a few requests of the budget already; alternating replicas, the
    // rest is spent once between them, not once each.
    const answers: number[] = [];
    for (let i = 0; i < PER_REMOTE + 5; i++) answers.push((await ping(i % 2 ? a2 : a1, first)).status);
    const admitted = answers.filter((s) => s !== 429);
    expect(admitted.every((s) => s === 200)).toBe(true);
    expect(admitted.length).toBeLessThanOrEqual(PER_REMOTE);
    expect(admitted.length).toBeGreaterThanOrEqual(PER_REMOTE - 4);
    expect(answers.slice(admitted.length).every((s) => s === 429)).toBe(true);
    expect429(await ping(a2, first), 'api.context.rate_limited.app_error');
    // The other connection still has its own.
    expect((await ping(a1, second)).status).toBe(200);
  });
});
