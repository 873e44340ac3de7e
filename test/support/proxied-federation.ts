import { eventually } from './eventually.js';
import { FAST_FEDERATION_ENV, type Federation } from './federation.js';
import { startInstance } from './instance.js';
import { adminWithTeam, connect } from './remote-cluster.js';
import { ThrottleProxy } from './throttle-proxy.js';

/** What stands between A and B: anything that listens, forwards to B's port and can be closed. */
export interface PeerProxy {
  readonly url: string;
  listen(): Promise<void>;
  target(port: number): void;
  close(): Promise<void>;
}

/**
 * A and B federated as startFederation(1) does, except that B's SITE_URL is a proxy in front of it (a ThrottleProxy
 * unless another is given): every call A makes to B (messages, pings, file bytes) crosses the proxy, which the test
 * can slow down, cut or make refuse. `envB` applies to B only.
 */
export async function startProxiedFederation<P extends PeerProxy = ThrottleProxy>(
  env: Record<string, string> = {},
  envB: Record<string, string> = {},
  proxy: P = new ThrottleProxy() as unknown as P,
): Promise<{ fed: Federation; proxy: P }> {
  await proxy.listen();
  const a = await startInstance('A', { ...FAST_FEDERATION_ENV, ...env });
  const b = await startInstance('B', { ...FAST_FEDERATION_ENV, ...env, ...envB, SITE_URL: proxy.url });
  proxy.target(b.config.http.port);
  const sides = await Promise.all([adminWithTeam(a), adminWithTeam(b)]);
  const remoteId = await connect(sides[0], sides[1]);
  await eventually(async () => {
    for (const s of sides) {
      const [row] = await s.inst.query<{ last_ping_at: string }>('SELECT last_ping_at FROM remote_clusters WHERE remote_id = $1', [remoteId]);
      if (!row || Number(row.last_ping_at) < Date.now() - 1500) throw new Error('not online yet');
    }
  }, { timeoutMs: 15_000 });
  return {
    proxy,
    fed: {
      sides,
      remoteIds: ['', remoteId],
      destroy: async () => {
        await proxy.close();
        await Promise.all([a.destroy().catch(() => undefined), b.destroy().catch(() => undefined)]);
      },
    },
  };
}
