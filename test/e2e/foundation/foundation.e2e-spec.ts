import { http, login } from '../../support/http.js';
import { startInstance, TEST_ADMIN, type Instance } from '../../support/instance.js';

describe('foundation over HTTP', () => {
  let a: Instance;
  let adminToken: string;

  beforeAll(async () => {
    a = await startInstance('A');
    adminToken = await login(a);
  });
  afterAll(() => a?.destroy());

  it('answers Mattermost system ping with exactly application/json', async () => {
    const res = await http(a, 'GET', '/api/v4/system/ping');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.body).toEqual({ status: 'OK' });
  });

  it('logs the bootstrap admin in: user JSON without secrets and a Token header', async () => {
    const res = await http(a, 'POST', '/api/v4/users/login', { body: { login_id: TEST_ADMIN.username, password: TEST_ADMIN.password } });
    expect(res.status).toBe(200);
    expect(res.headers.get('token')).toMatch(/^[a-z0-9]{26}$/);
    expect(res.body).toMatchObject({ username: TEST_ADMIN.username, email: TEST_ADMIN.email, roles: 'system_admin system_user' });
    expect(res.body.id).toMatch(/^[a-z0-9]{26}$/);
    for (const secret of ['password', 'auth_data', 'mfa_secret']) expect(res.body).not.toHaveProperty(secret);
    expect(res.text).not.toContain(res.headers.get('token'));
  });

  it('accepts the bearer scheme in any case', async () => {
    for (const scheme of ['BEARER', 'bearer', 'Bearer', 'Token']) {
      const res = await http(a, 'GET', '/api/v4/users/me', { headers: { Authorization: `${scheme} ${adminToken}` } });
      expect(res.status).toBe(200);
      expect(res.body.username).toBe(TEST_ADMIN.username);
    }
  });

  it('logs in by email too, case-insensitively', async () => {
    const res = await http(a, 'POST', '/api/v4/users/login', { body: { login_id: TEST_ADMIN.email.toUpperCase(), password: TEST_ADMIN.password } });
    expect(res.status).toBe(200);
  });

  it('rejects a wrong password with 401 and an AppError body', async () => {
    const res = await http(a, 'POST', '/api/v4/users/login', { body: { login_id: TEST_ADMIN.username, password: 'wrong-password' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.body).toEqual({
      id: 'api.user.login.invalid_credentials_email_username',
      message: expect.any(String),
      detailed_error: '',
      request_id: expect.stringMatching(/.+/),
      status_code: 401,
    });
    expect(res.headers.get('token')).toBeNull();
  });

  it('answers a malformed body with 400 naming the field', async () => {
    const missing = await http(a, 'POST', '/api/v4/users/login', { body: { password: 'x' } });
    expect(missing.status).toBe(400);
    expect(missing.body.id).toBe('api.context.invalid_body_param.app_error');
    expect(missing.body.message).toContain('login_id');

    const wrongType = await http(a, 'POST', '/api/v4/users/login', { body: { login_id: 42, password: 'x' } });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.message).toContain('login_id');

    const garbage = await http(a, 'POST', '/api/v4/users/login', { rawBody: '{"login_id": ', headers: { 'Content-Type': 'application/json' } });
    expect(garbage.status).toBe(400);
    expect(garbage.body).toMatchObject({ id: 'api.unmarshal_error', status_code: 400 });
  });

  it('answers unknown routes and missing sessions with AppError bodies', async () => {
    const unknown = await http(a, 'GET', '/api/v4/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ id: 'api.context.404.app_error', status_code: 404 });

    const noSession = await http(a, 'GET', '/api/v4/users/me');
    expect(noSession.status).toBe(401);
    expect(noSession.body).toMatchObject({ id: 'api.context.session_expired.app_error', status_code: 401 });

    const badToken = await http(a, 'GET', '/api/v4/users/me', { token: 'x'.repeat(26) });
    expect(badToken.status).toBe(401);
  });

  it('lets an admin create users, refuses others, and never returns a hash', async () => {
    const created = await http(a, 'POST', '/api/v4/users', {
      token: adminToken,
      body: { username: 'carol', email: 'carol@example.com', password: 'carol-password' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ username: 'carol', roles: 'system_user' });
    expect(created.text).not.toMatch(/\$2[aby]\$/);

    const carol = await login(a, 'carol', 'carol-password');
    const denied = await http(a, 'POST', '/api/v4/users', {
      token: carol,
      body: { username: 'dave', email: 'dave@example.com', password: 'dave-password' },
    });
    expect(denied.status).toBe(403);
    expect(denied.body.id).toBe('api.context.permissions.app_error');

    const dup = await http(a, 'POST', '/api/v4/users', {
      token: adminToken,
      body: { username: 'carol', email: 'carol2@example.com', password: 'carol-password' },
    });
    expect(dup.status).toBe(400);
    expect(dup.body.id).toBe('app.user.save.username_exists.app_error');

    const [row] = await a.query<{ password: string }>('SELECT password FROM users WHERE username = $1', ['carol']);
    expect(row.password).toMatch(/^\$2[aby]\$04\$/);
    expect(await a.query('SELECT id FROM users WHERE username = $1', ['dave'])).toHaveLength(0);
  });

  it('stores only token hashes and ends the session on logout', async () => {
    const token = await login(a);
    const rows = await a.query<{ token_hash: string }>('SELECT token_hash FROM sessions');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.some((r) => r.token_hash.includes(token))).toBe(false);

    expect((await http(a, 'POST', '/api/v4/users/logout', { token })).status).toBe(200);
    expect((await http(a, 'GET', '/api/v4/users/me', { token })).status).toBe(401);
  });

  it('issues personal access tokens that authenticate until revoked', async () => {
    const created = await http(a, 'POST', '/api/v4/users/me/tokens', { token: adminToken, body: { description: 'ci bot' } });
    expect(created.status).toBe(200);
    const pat = created.body.token as string;
    expect((await http(a, 'GET', '/api/v4/users/me', { token: pat })).status).toBe(200);

    const revoked = await http(a, 'POST', '/api/v4/users/tokens/revoke', { token: adminToken, body: { token_id: created.body.id } });
    expect(revoked.status).toBe(200);
    expect((await http(a, 'GET', '/api/v4/users/me', { token: pat })).status).toBe(401);

    const bad = await http(a, 'POST', '/api/v4/users/not-an-id/tokens', { token: adminToken, body: { description: 'x' } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('user_id');
  });

  it('serves Bull Board to system admins only', async () => {
    const anonymous = await http(a, 'GET', '/admin/queues');
    expect(anonymous.status).toBe(401);

    await http(a, 'POST', '/api/v4/users', { token: adminToken, body: { username: 'erin', email: 'erin@example.com', password: 'erin-password' } });
    const erin = await login(a, 'erin', 'erin-password');
    const user = await http(a, 'GET', '/admin/queues', { token: erin });
    expect(user.status).toBe(403);

    const admin = await http(a, 'GET', '/admin/queues', { token: adminToken });
    expect(admin.status).toBe(200);
    expect(admin.text).toContain('<div id="root">');

    const cookie = await http(a, 'GET', '/admin/queues/api/queues', { headers: { Cookie: `MMAUTHTOKEN=${adminToken}` } });
    expect(cookie.status).toBe(200);
    expect(JSON.stringify(cookie.body)).toContain('maintenance');
  });

  it('reports readiness of PostgreSQL and Redis, liveness, and Prometheus metrics', async () => {
    const live = await http(a, 'GET', '/health/live');
    expect(live.status).toBe(200);
    const ready = await http(a, 'GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' }, redis: { status: 'up' } } });

    const metrics = await http(a, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/http_requests_total\{method="GET",route="\/api\/v4\/system\/ping",status="200"\} \d+/);
    expect(metrics.text).toContain('process_cpu_user_seconds_total');
  });

  it('publishes an OpenAPI document with every route and both auth schemes', async () => {
    const res = await http(a, 'GET', '/api/docs-json');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining(['/api/v4/users/login', '/api/v4/users/me', '/api/v4/users', '/api/v4/system/ping', '/health/ready']),
    );
    expect(Object.keys(res.body.components.securitySchemes)).toEqual(
      expect.arrayContaining(['session', 'remote-cluster-id', 'remote-cluster-token']),
    );
    expect(res.body.paths['/api/v4/users/me'].get.security).toEqual([{ session: [] }]);
  });

  it('echoes a sane X-Request-Id and makes one otherwise', async () => {
    const given = await http(a, 'GET', '/api/v4/users/me', { headers: { 'X-Request-Id': 'lb-1234' } });
    expect(given.headers.get('x-request-id')).toBe('lb-1234');
    expect(given.body.request_id).toBe('lb-1234');
    const made = await http(a, 'GET', '/api/v4/users/me', { headers: { 'X-Request-Id': 'bad id with spaces' } });
    expect(made.headers.get('x-request-id')).toMatch(/^[a-z0-9]{26}$/);
  });
});
