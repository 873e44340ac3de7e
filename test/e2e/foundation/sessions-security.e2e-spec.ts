import { Client4 } from '@mattermost/client';
import { createUser } from '../../support/chat.js';
import { http, login } from '../../support/http.js';
import { startInstance, TEST_ADMIN, type Instance } from '../../support/instance.js';

function setCookie(headers: Headers): string {
  return headers.getSetCookie().find((c) => c.startsWith('MMAUTHTOKEN=')) ?? '';
}

/** Where a session token may come from, which cookie attributes it gets, and who may mint personal access tokens. */
describe('sessions and tokens', () => {
  let a: Instance;
  let behindProxy: Instance;
  let adminToken: string;

  beforeAll(async () => {
    [a, behindProxy] = await Promise.all([startInstance('A'), startInstance('P', { TRUST_PROXY: 'loopback' })]);
    adminToken = await login(a);
  });
  afterAll(() => Promise.all([a?.destroy(), behindProxy?.destroy()]));

  it('takes ?access_token= on Bull Board only, never on the API', async () => {
    expect((await http(a, 'GET', `/api/v4/users/me?access_token=${adminToken}`)).status).toBe(401);
    expect((await http(a, 'GET', `/api/v4/teams/${'x'.repeat(26)}?access_token=${adminToken}`)).status).toBe(401);
    expect((await http(a, 'GET', '/api/v4/users/me', { token: adminToken })).status).toBe(200);

    const board = await http(a, 'GET', `/admin/queues?access_token=${adminToken}`);
    expect(board.status).toBe(200);
    expect(setCookie(board.headers)).toMatch(/^MMAUTHTOKEN=\w+; Path=\/admin\/queues; HttpOnly; SameSite=Lax$/);
  });

  it('marks the session cookie Secure when the request came over TLS, as the trusted proxy says', async () => {
    const body = { login_id: TEST_ADMIN.username, password: TEST_ADMIN.password };
    const plain = await http(behindProxy, 'POST', '/api/v4/users/login', { body });
    expect(setCookie(plain.headers)).not.toContain('Secure');
    const tls = await http(behindProxy, 'POST', '/api/v4/users/login', { body, headers: { 'X-Forwarded-Proto': 'https' } });
    expect(setCookie(tls.headers)).toMatch(/; HttpOnly; Secure; SameSite=Lax$/);
    const token = tls.headers.get('token')!;
    const board = await http(behindProxy, 'GET', `/admin/queues?access_token=${token}`, { headers: { 'X-Forwarded-Proto': 'https' } });
    expect(setCookie(board.headers)).toContain('; Secure');
    const logout = await http(behindProxy, 'POST', '/api/v4/users/logout', { token, headers: { 'X-Forwarded-Proto': 'https' } });
    expect(setCookie(logout.headers)).toContain('; Secure');

    // Without TRUST_PROXY the header is a client's claim and changes nothing.
    const spoofed = await http(a, 'POST', '/api/v4/users/login', { body, headers: { 'X-Forwarded-Proto': 'https' } });
    expect(setCookie(spoofed.headers)).not.toContain('Secure');
  });

  it('lets only holders of create_user_access_token mint personal access tokens (system admins), as Mattermost does', async () => {
    const user = await createUser(a, adminToken, 'no-pat-user');
    const asUser = new Client4();
    asUser.setUrl(a.url);
    asUser.setToken(user.token);
    await expect(asUser.createUserAccessToken(user.id, 'my bot')).rejects.toMatchObject({
      status_code: 403,
      server_error_id: 'api.context.permissions.app_error',
    });
    expect(await a.query('SELECT id FROM user_access_tokens WHERE user_id = $1', [user.id])).toEqual([]);

    const asAdmin = new Client4();
    asAdmin.setUrl(a.url);
    asAdmin.setToken(adminToken);
    const forUser = await asAdmin.createUserAccessToken(user.id, 'issued by an admin');
    expect(forUser.token).toMatch(/^[a-z0-9]{26}$/);
    expect((await http(a, 'GET', '/api/v4/users/me', { token: forUser.token })).body.id).toBe(user.id);
    // Revoking needs revoke_user_access_token, which a system user lacks as well.
    await expect(asUser.revokeUserAccessToken(forUser.id)).rejects.toMatchObject({ status_code: 403 });
    await asAdmin.revokeUserAccessToken(forUser.id);
    expect((await http(a, 'GET', '/api/v4/users/me', { token: forUser.token })).status).toBe(401);
  });
});
