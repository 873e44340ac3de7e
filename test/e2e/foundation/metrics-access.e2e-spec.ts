import { http } from '../../support/http.js';
import { startInstance, type Instance } from '../../support/instance.js';

const SCRAPE_TOKEN = 'prometheus-scrape-token-1';

/** /metrics restricted by client network and/or a bearer token, for Prometheus (see README, Operations). */
describe('/metrics access', () => {
  let open: Instance;
  let ipv6Only: Instance;
  let tokenAndLoopback: Instance;

  beforeAll(async () => {
    [open, ipv6Only, tokenAndLoopback] = await Promise.all([
      startInstance('O'),
      // Requests in these tests come from 127.0.0.1, which ::1/128 does not contain.
      startInstance('N', { METRICS_ALLOWED_NETWORKS: '::1/128' }),
      startInstance('T', { METRICS_ALLOWED_NETWORKS: '127.0.0.0/8', METRICS_TOKEN: SCRAPE_TOKEN }),
    ]);
  });
  afterAll(() => Promise.all([open?.destroy(), ipv6Only?.destroy(), tokenAndLoopback?.destroy()]));

  it('is open by default', async () => {
    expect((await http(open, 'GET', '/metrics')).status).toBe(200);
  });

  it('refuses a client outside METRICS_ALLOWED_NETWORKS with 403', async () => {
    const res = await http(ipv6Only, 'GET', '/metrics');
    expect({ status: res.status, id: res.body.id }).toEqual({ status: 403, id: 'api.context.permissions.app_error' });
    expect(res.text).not.toContain('process_cpu');
  });

  it('requires the bearer token when METRICS_TOKEN is set', async () => {
    expect((await http(tokenAndLoopback, 'GET', '/metrics')).status).toBe(401);
    expect((await http(tokenAndLoopback, 'GET', '/metrics', { token: 'prometheus-scrape-token-2' })).status).toBe(401);
    const ok = await http(tokenAndLoopback, 'GET', '/metrics', { token: SCRAPE_TOKEN });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('process_cpu_user_seconds_total');
  });
});
