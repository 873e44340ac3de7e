import { createChannel, createPost } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { channelState, converged, FAST_FEDERATION_ENV, type Federation, memberOf, shareWith } from '../support/federation.js';
import { startInstance, type Instance } from '../support/instance.js';
import { adminWithTeam, connect } from '../support/remote-cluster.js';
import { ThrottleProxy } from '../support/throttle-proxy.js';

const CHANNELS = 8;

/**
 * Mattermost handles every channel on one goroutine, so one slow peer stalls every channel (section 12). Here A
 * shares eight channels with B and C; the network to B is slowed to a trickle while it stays online. B may hold
 * only SYNC_PER_REMOTE_CONCURRENCY of A's SYNC_CONCURRENCY worker slots and has its own connection pool, so C
 * gets every post at once; B gets them all once its network recovers, none lost.
 */
describe('one slow peer does not hold back the others', () => {
  let insts: Instance[] = [];
  let proxy: ThrottleProxy;
  let fed: Federation;

  beforeAll(async () => {
    proxy = new ThrottleProxy();
    await proxy.listen();
    // A: few worker slots, so B's stuck jobs would take them all without the per-remote cap; B stays online
    // (pings are rare and the offline window long) so A keeps trying to send to it.
    const envA = { ...FAST_FEDERATION_ENV, SYNC_CONCURRENCY: '4', SYNC_PER_REMOTE_CONCURRENCY: '2', PING_INTERVAL_MS: '2000', REMOTE_OFFLINE_AFTER_MS: '60000' };
    const a = await startInstance('A', envA);
    const b = await startInstance('B', { ...FAST_FEDERATION_ENV, SITE_URL: proxy.url });
    const c = await startInstance('C', FAST_FEDERATION_ENV);
    insts = [a, b, c];
    proxy.target(b.config.http.port);
    const sides = await Promise.all(insts.map(adminWithTeam));
    const remoteIds = ['', await connect(sides[0], sides[1]), await connect(sides[0], sides[2])];
    fed = { sides, remoteIds, destroy: async () => undefined };
    await eventually(async () => {
      for (const i of [1, 2]) {
        const [row] = await a.query<{ last_ping_at: string }>('SELECT last_ping_at FROM remote_clusters WHERE remote_id = $1', [remoteIds[i]]);
        if (!row || Number(row.last_ping_at) === 0) throw new Error('not online yet');
      }
    }, { timeoutMs: 15_000 });
  }, 60_000);

  afterAll(async () => {
    await proxy?.close();
    await Promise.all(insts.map((i) => i.destroy().catch(() => undefined)));
  });

  it('C gets every post while B is slow; B gets them all when its network recovers', async () => {
    const [A, B, C] = fed.sides;
    const channels: string[] = [];
    const writers: Array<{ token: string }> = [];
    for (let i = 0; i < CHANNELS; i++) {
      const ch = await createChannel(A.inst, A.token, A.teamId, `slow-peer-${i}`);
      await shareWith(fed, ch, 1);
      await shareWith(fed, ch, 2);
      writers.push(await memberOf(A, `writer${i}`, ch));
      channels.push(ch);
    }
    // Everything so far (the writers' profiles and memberships) is on both remotes before B's network degrades.
    for (const ch of channels) await converged([A.inst, B.inst, C.inst], ch);

    proxy.rate = 400; // bytes per second towards B: one sync message takes seconds
    const posts = await Promise.all(channels.map((ch, i) => createPost(A.inst, writers[i].token, ch, `post ${i} while B is slow`)));

    await eventually(async () => {
      for (const ch of channels) expect((await channelState(C.inst, ch)).posts.map((p) => p.message)).toContain(`post ${channels.indexOf(ch)} while B is slow`);
    }, { timeoutMs: 10_000, intervalMs: 50 });
    // When C has them all, B has none yet: C never waited behind B's messages (with B allowed every worker slot,
    // C's jobs would queue behind B's first messages, which take seconds each, and B would have several posts).
    expect(await B.inst.query('SELECT id FROM posts WHERE id = ANY($1)', [posts.map((p) => p.id)])).toEqual([]);

    proxy.rate = null;
    for (const ch of channels) await converged([A.inst, B.inst, C.inst], ch, 60_000);
    const onBAfter = await B.inst.query<{ id: string }>('SELECT id FROM posts WHERE id = ANY($1)', [posts.map((p) => p.id)]);
    expect(onBAfter).toHaveLength(CHANNELS);
  }, 120_000);
});
