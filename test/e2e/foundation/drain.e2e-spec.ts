import { DrainState } from '../../../src/health/drain-state.js';
import { startChildInstance, type ChildInstance } from '../../support/child-instance.js';
import { eventually } from '../../support/eventually.js';
import { http } from '../../support/http.js';
import { startInstance, type Instance } from '../../support/instance.js';

describe('draining a replica', () => {
  let inst: Instance;
  afterAll(() => inst?.destroy());

  it('reports not ready and asks clients to close their connections, while it still serves requests', async () => {
    inst = await startInstance('drain');
    await eventually(async () => expect((await http(inst, 'GET', '/health/ready')).status).toBe(200), { timeoutMs: 20_000, intervalMs: 250 });
    inst.app!.get(DrainState).start();
    const ready = await http(inst, 'GET', '/health/ready');
    expect(ready.status).toBe(503);
    const ping = await http(inst, 'GET', '/api/v4/system/ping');
    expect(ping.status).toBe(200);
    expect(ping.headers.get('connection')).toBe('close');
  });
});

describe('SIGTERM on the server process', () => {
  let child: ChildInstance;
  afterAll(() => child?.destroy());

  it('is not ready first, keeps serving through SHUTDOWN_DRAIN_MS, then exits 0', async () => {
    child = await startChildInstance('sigterm', { SHUTDOWN_DRAIN_MS: '4000', LOG_LEVEL: 'info' });
    const exited = child.stop();
    await eventually(async () => expect((await http(child, 'GET', '/health/ready')).status).toBe(503), { intervalMs: 50 });
    // Still serving while the balancer takes it out of the pool.
    expect((await http(child, 'GET', '/api/v4/system/ping')).status).toBe(200);
    await exited;
    expect(child.running()).toBe(false);
    const log = child.output();
    expect(log.indexOf('draining: not ready')).toBeGreaterThan(-1);
    expect(log.indexOf('closing: no new connections')).toBeGreaterThan(log.indexOf('draining: not ready'));
    expect(log).toContain('"msg":"closed"');
  });
});
