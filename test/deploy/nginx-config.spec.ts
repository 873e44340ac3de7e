import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderNginxConfig, testNginxConfig, writeNginxConfig } from '../../scripts/cluster-nginx.js';

describe('the nginx configuration (deploy/nginx/mmfed.conf.template)', () => {
  const prefix = mkdtempSync(join(tmpdir(), 'mmfed-nginx-'));
  afterAll(() => rmSync(prefix, { recursive: true, force: true }));

  it('passes `nginx -t` once rendered for three replicas', () => {
    writeNginxConfig({ prefix, port: 18065, replicaPorts: [18101, 18102, 18103] });
    const result = testNginxConfig(prefix);
    expect(result.output).toContain('syntax is ok');
    expect(result.ok).toBe(true);
  });

  it('balances over every replica, upgrades WebSockets, forwards the client and a request id, retries only idempotent requests', () => {
    const conf = renderNginxConfig({ prefix, port: 18065, replicaPorts: [18101, 18102] });
    expect(conf).toContain('server 127.0.0.1:18101 max_fails=1');
    expect(conf).toContain('server 127.0.0.1:18102 max_fails=1');
    expect(conf).toContain('listen 127.0.0.1:18065;');
    expect(conf).toMatch(/map \$http_upgrade \$connection_upgrade/);
    for (const header of ['X-Forwarded-For', 'X-Forwarded-Proto', 'X-Forwarded-Host', 'X-Request-Id', 'Upgrade', 'Connection']) {
      expect(conf).toMatch(new RegExp(`proxy_set_header ${header} `));
    }
    expect(conf).toMatch(/proxy_next_upstream error timeout http_502 http_503;/);
    // Without it nginx never passes a POST on once it was sent: no post is created twice.
    expect(conf.split('\n').filter((l) => !l.trim().startsWith('#')).join('\n')).not.toContain('non_idempotent');
    expect(conf).not.toMatch(/\{\{[A-Z]+\}\}/);
  });
});
