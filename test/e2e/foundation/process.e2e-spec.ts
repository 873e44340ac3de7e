import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { ensureBuilt } from '../../support/build.js';
import { cloneDatabase, dropDatabase } from '../../support/databases.js';
import { eventually } from '../../support/eventually.js';
import { http } from '../../support/http.js';
import { freePort } from '../../support/instance.js';
import { dbUrl, TEST_REDIS_URL } from '../../support/test-env.js';

/** The built entry point (dist/src/main.js, what `npm start` runs) in its own process, as operators run it. */
function runMain(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let out = '';
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

describe('the server process', () => {
  beforeAll(() => ensureBuilt(), 180_000);

  it('refuses to start with bad configuration, naming every bad key', async () => {
    const { child, output } = runMain({ PORT: 'x', REDIS_URL: 'http://nope', LOG_LEVEL: 'chatty' });
    const [code] = await once(child, 'exit');
    expect(code).toBe(78);
    for (const key of ['PORT', 'REDIS_URL', 'LOG_LEVEL']) expect(output()).toContain(key);
  });

  it('starts, serves, logs JSON with a request id, and shuts down cleanly on SIGTERM', async () => {
    const db = await cloneDatabase();
    const port = await freePort();
    const { child, output } = runMain({
      PORT: String(port),
      SITE_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: dbUrl(db),
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: `t_proc_${port}`,
      LOG_LEVEL: 'info',
      ADMIN_USERNAME: 'boot-admin',
      ADMIN_PASSWORD: 'boot-admin-pass',
      ADMIN_EMAIL: 'boot@example.com',
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      await eventually(async () => expect((await http(base, 'GET', '/api/v4/system/ping')).body).toEqual({ status: 'OK' }), {
        timeoutMs: 30_000,
        intervalMs: 200,
      });
      const login = await http(base, 'POST', '/api/v4/users/login', { body: { login_id: 'boot-admin', password: 'boot-admin-pass' } });
      expect(login.status).toBe(200);
      const requestId = login.headers.get('x-request-id');
      await eventually(() => {
        const logLine = output()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { req?: { id?: string; url?: string }; res?: { statusCode?: number } })
          .find((l) => l.req?.id === requestId);
        expect(logLine).toMatchObject({ req: { url: '/api/v4/users/login' }, res: { statusCode: 200 } });
      });

      child.kill('SIGTERM');
      const [code, signal] = await once(child, 'exit');
      expect({ code, signal }).toEqual({ code: 0, signal: null });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await dropDatabase(db);
    }
  });
});
