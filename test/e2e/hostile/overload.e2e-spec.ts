import { DataSource, type QueryRunner } from 'typeorm';
import { EventLoopMonitor, LAG_MEMORY_MS } from '../../../src/health/event-loop-monitor.js';
import { eventually } from '../../support/eventually.js';
import { http, login } from '../../support/http.js';
import { startInstance, type Instance } from '../../support/instance.js';

/** Busy-waits: blocks this thread (and so the in-process server) for `ms`. */
function blockEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spin
  }
}

/**
 * A replica under more load than it can take says so: a request that cannot get a database connection is answered
 * 503 with Retry-After instead of waiting without end, and /health/ready reports not ready after the event loop was
 * blocked, so a load balancer moves traffic elsewhere.
 */
describe('overload', () => {
  let a: Instance;
  let token: string;

  beforeAll(async () => {
    // The idle timeout is shorter than the pool wait: a handler still working keeps its connection.
    a = await startInstance('A', { DATABASE_POOL_SIZE: '2', DATABASE_POOL_TIMEOUT_MS: '1500', HTTP_IDLE_TIMEOUT_MS: '300', READY_MAX_EVENT_LOOP_LAG_MS: '400' });
    token = await login(a);
  });
  afterAll(() => a?.destroy());

  it('a request that gets no pooled database connection within DATABASE_POOL_TIMEOUT_MS is 503 with Retry-After (the connection idle meanwhile is kept)', async () => {
    const dataSource = a.app!.get(DataSource);
    const held: QueryRunner[] = [];
    try {
      // Take every connection of the pool and keep them.
      for (let i = 0; i < 2; i++) {
        const runner = dataSource.createQueryRunner();
        await runner.connect();
        held.push(runner);
      }
      const res = await http(a, 'GET', '/api/v4/users/me', { token, signal: AbortSignal.timeout(20_000) });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(res.body).toMatchObject({ id: 'app.server_busy', status_code: 503 });
    } finally {
      await Promise.all(held.map((r) => r.release()));
    }
    expect((await http(a, 'GET', '/api/v4/users/me', { token })).status).toBe(200);
  });

  it('/health/ready is 503 after the event loop was blocked past READY_MAX_EVENT_LOOP_LAG_MS, and ready again later', async () => {
    // Ready once start-up (which keeps the loop busy for a while) is LAG_MEMORY_MS behind.
    const ready = async () => expect((await http(a, 'GET', '/health/ready')).status).toBe(200);
    await eventually(ready, { timeoutMs: LAG_MEMORY_MS * 3, intervalMs: 250 });
    blockEventLoop(1_000);
    const res = await http(a, 'GET', '/health/ready');
    expect(res.status).toBe(503);
    expect(a.app!.get(EventLoopMonitor).blockedLag()).toBeGreaterThanOrEqual(900);
    // The lag is also exported, as prom-client's default metrics.
    expect((await http(a, 'GET', '/metrics')).text).toContain('nodejs_eventloop_lag_seconds');
    await eventually(ready, { timeoutMs: LAG_MEMORY_MS * 3, intervalMs: 250 });
  }, LAG_MEMORY_MS * 8);
});
