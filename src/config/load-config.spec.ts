import { readFileSync } from 'node:fs';
import { CONFIG_KEYS, ConfigError, loadConfig } from './load-config.js';

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    const c = loadConfig({});
    expect(c.http.port).toBe(8065);
    expect(c.http.siteUrl).toBe('http://localhost:8065');
    expect(c.database.url).toBe('postgres://postgres@127.0.0.1:5432/mmfed');
    expect(c.database.migrationsRun).toBe(true);
    expect(c.redis).toEqual({ url: 'redis://127.0.0.1:6379', queuePrefix: 'mmfed' });
    expect(c.files.maxFileSize).toBe(104857600);
    expect(c.auth.bootstrapAdmin).toBeUndefined();
    expect(c.http.trustProxy).toBe(false);
    expect(c.remoteCluster).toEqual({ pingIntervalMs: 60_000, offlineAfterMs: 300_000, allowedNetworks: [], tokenOverlapMs: 300_000, tokenKey: undefined });
    expect(c.metrics).toEqual({ allowedNetworks: [], token: undefined });
    expect(c.sync.membershipSync).toBe(true);
    expect(c.sync.globalUserSync).toBe(false);
  });

  it('parses numbers, booleans and the trust-proxy forms', () => {
    const c = loadConfig({ PORT: '9000', MIGRATIONS_RUN: 'false', TRUST_PROXY: '1', SITE_URL: 'https://chat.example.com/' });
    expect(c.http.port).toBe(9000);
    expect(c.database.migrationsRun).toBe(false);
    expect(c.http.trustProxy).toBe(1);
    expect(c.http.siteUrl).toBe('https://chat.example.com');
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).http.trustProxy).toBe('loopback, 10.0.0.0/8');
  });

  it('lists every bad key at once', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', SITE_URL: 'not a url', MAX_FILE_SIZE: '-1', LOG_LEVEL: 'loud', MIGRATIONS_RUN: 'maybe' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const key of ['PORT', 'SITE_URL', 'MAX_FILE_SIZE', 'LOG_LEVEL', 'MIGRATIONS_RUN']) expect(problems).toContain(key);
  });

  it('reads the heartbeat settings and keeps the offline window longer than the ping interval', () => {
    expect(loadConfig({ PING_INTERVAL_MS: '500', REMOTE_OFFLINE_AFTER_MS: '2000' }).remoteCluster).toMatchObject({
      pingIntervalMs: 500,
      offlineAfterMs: 2000,
    });
    expect(() => loadConfig({ PING_INTERVAL_MS: '5000', REMOTE_OFFLINE_AFTER_MS: '5000' })).toThrow(/REMOTE_OFFLINE_AFTER_MS must be greater/);
    expect(() => loadConfig({ PING_INTERVAL_MS: '10' })).toThrow(/PING_INTERVAL_MS/);
  });

  it('reads the network lists and refuses entries that are not CIDRs', () => {
    const c = loadConfig({ REMOTE_ALLOWED_NETWORKS: '127.0.0.0/8, ::1/128', METRICS_ALLOWED_NETWORKS: '10.1.2.3 fd00::/8', METRICS_TOKEN: 'a-long-enough-scrape-token' });
    expect(c.remoteCluster.allowedNetworks).toEqual(['127.0.0.0/8', '::1/128']);
    expect(c.metrics).toEqual({ allowedNetworks: ['10.1.2.3', 'fd00::/8'], token: 'a-long-enough-scrape-token' });
    let problems = '';
    try {
      loadConfig({ REMOTE_ALLOWED_NETWORKS: '127.0.0.0/33,localhost', METRICS_ALLOWED_NETWORKS: '10.0.0.0/8/1', METRICS_TOKEN: 'short' });
    } catch (err) {
      problems = (err as ConfigError).problems.join('\n');
    }
    expect(problems).toContain('REMOTE_ALLOWED_NETWORKS: not CIDR networks: 127.0.0.0/33, localhost');
    expect(problems).toContain('METRICS_ALLOWED_NETWORKS: not CIDR networks: 10.0.0.0/8/1');
    expect(problems).toContain('METRICS_TOKEN');
  });

  it('reads REMOTE_TOKEN_KEY as 32 bytes of base64', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    expect(loadConfig({ REMOTE_TOKEN_KEY: key }).remoteCluster.tokenKey).toEqual(Buffer.alloc(32, 7));
    expect(() => loadConfig({ REMOTE_TOKEN_KEY: Buffer.alloc(16).toString('base64') })).toThrow(/REMOTE_TOKEN_KEY must be 32 bytes/);
  });

  it('requires the three ADMIN_* keys together', () => {
    expect(() => loadConfig({ ADMIN_USERNAME: 'root1' })).toThrow(/ADMIN_USERNAME, ADMIN_PASSWORD and ADMIN_EMAIL/);
    const c = loadConfig({ ADMIN_USERNAME: 'root1', ADMIN_PASSWORD: 'long-enough', ADMIN_EMAIL: 'root@example.com' });
    expect(c.auth.bootstrapAdmin).toEqual({ username: 'root1', password: 'long-enough', email: 'root@example.com' });
  });

  it('ignores variables it does not declare', () => {
    expect(() => loadConfig({ SOMETHING_ELSE: '1', PATH: '/bin' })).not.toThrow();
  });

  it('is documented key for key in .env.example', () => {
    const documented = readFileSync('.env.example', 'utf8')
      .split('\n')
      .map((l) => /^#?\s*([A-Z][A-Z0-9_]+)=/.exec(l)?.[1])
      .filter((k): k is string => !!k);
    expect([...documented].sort()).toEqual([...CONFIG_KEYS].sort());
  });
});
