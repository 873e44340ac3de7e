import { createHash, randomBytes } from 'node:crypto';
import { createApp } from '../../src/bootstrap/create-app.js';
import { loadConfig } from '../../src/config/load-config.js';
import { TokenSealer } from '../../src/modules/remote-cluster/token-sealer.js';
import { createChannel, createPost } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { type Federation, memberOf, shareWith } from '../support/federation.js';
import { http } from '../support/http.js';
import { startInstance, type Instance } from '../support/instance.js';
import { adminWithTeam, connect, storedRemote } from '../support/remote-cluster.js';
import { FAST_HEARTBEAT_ENV, waitOnline } from '../support/shared-channel.js';

const sha256 = (t: string) => createHash('sha256').update(t, 'utf8').digest('hex');

/**
 * REMOTE_TOKEN_KEY seals the tokens a server presents to its peers (they cannot be hashed: sending needs them).
 * A federates with it set, B starts without it; B's tokens are sealed when B restarts with a key, and a server
 * holding sealed tokens refuses to start without the key.
 */
describe('tokens we present to peers, sealed at rest', () => {
  const keyA = randomBytes(32);
  const keyB = randomBytes(32);
  let a: Instance;
  let b: Instance;
  let remoteId: string;

  beforeAll(async () => {
    [a, b] = await Promise.all([
      startInstance('A', { ...FAST_HEARTBEAT_ENV, REMOTE_TOKEN_KEY: keyA.toString('base64') }),
      startInstance('B', FAST_HEARTBEAT_ENV),
    ]);
  });
  afterAll(() => Promise.all([a?.destroy(), b?.destroy()]));

  it('stores A\'s token for B sealed, and the connection works both ways, rotation included', async () => {
    const sides = await Promise.all([adminWithTeam(a), adminWithTeam(b)]);
    remoteId = await connect(sides[0], sides[1]);
    await Promise.all([waitOnline(a, remoteId, true), waitOnline(b, remoteId, true)]);

    const onA = await storedRemote(a, remoteId);
    expect(onA.remote_token).toMatch(/^enc1:/);
    const opened = new TokenSealer(keyA).open(onA.remote_token, remoteId, 'remote_token');
    expect((await storedRemote(b, remoteId)).token_hash).toBe(sha256(opened));
    expect((await storedRemote(b, remoteId)).remote_token).not.toMatch(/^enc1:/);

    const fed: Federation = { sides, remoteIds: ['', remoteId], destroy: async () => undefined };
    const channel = await createChannel(a, sides[0].token, sides[0].teamId, 'sealed');
    await shareWith(fed, channel, 1);
    const alice = await memberOf(sides[0], 'alice-sealed', channel);
    const post = await createPost(a, alice.token, channel, 'sent with a sealed token');
    await eventually(async () => expect(await b.query('SELECT id FROM posts WHERE id = $1', [post.id])).toHaveLength(1));

    expect((await http(a, 'POST', `/api/v4/remotecluster/${remoteId}/rotate_token`, { token: sides[0].token })).status).toBe(200);
    const rotated = await storedRemote(a, remoteId);
    expect(rotated.remote_token).toMatch(/^enc1:/);
    expect(rotated.remote_token).not.toBe(onA.remote_token);
    const late = await createPost(a, alice.token, channel, 'after the rotation');
    await eventually(async () => expect(await b.query('SELECT id FROM posts WHERE id = $1', [late.id])).toHaveLength(1));
  });

  it('seals the tokens stored in clear when a key is set, and keeps working', async () => {
    const clear = (await storedRemote(b, remoteId)).remote_token as string;
    await b.stop();
    const b2 = await startInstance('B2', {
      ...FAST_HEARTBEAT_ENV,
      PORT: String(b.config.http.port),
      SITE_URL: b.url,
      DATABASE_URL: b.config.database.url,
      QUEUE_PREFIX: b.queuePrefix,
      FILES_DIR: b.config.files.dir,
      REMOTE_TOKEN_KEY: keyB.toString('base64'),
    });
    try {
      const sealed = (await storedRemote(b2, remoteId)).remote_token as string;
      expect(sealed).toMatch(/^enc1:/);
      expect(new TokenSealer(keyB).open(sealed, remoteId, 'remote_token')).toBe(clear);
      // A still hears from B: B's pings authenticate with the opened token.
      await a.query('UPDATE remote_clusters SET last_ping_at = 0, online = false WHERE remote_id = $1', [remoteId]);
      await b2.query('UPDATE remote_clusters SET last_ping_at = 0, online = false WHERE remote_id = $1', [remoteId]);
      await Promise.all([waitOnline(a, remoteId, true), waitOnline(b2, remoteId, true)]);
    } finally {
      await b2.stop();
    }
  });

  it('refuses to start without the key once tokens are sealed', async () => {
    const config = loadConfig({
      PORT: '0',
      SITE_URL: b.url,
      DATABASE_URL: b.config.database.url,
      REDIS_URL: b.config.redis.url,
      QUEUE_PREFIX: b.queuePrefix,
      FILES_DIR: b.config.files.dir,
      LOG_LEVEL: 'silent',
      DATABASE_POOL_SIZE: '2',
    });
    const app = await createApp(config);
    try {
      await expect(app.init()).rejects.toThrow(/sealed with REMOTE_TOKEN_KEY, which is not set/);
    } finally {
      await app.close();
    }
  });
});
