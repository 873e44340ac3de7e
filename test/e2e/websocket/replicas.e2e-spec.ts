import { addToChannel, addToTeam, createChannel, createPost, createTeam, createUser, type TestUser } from '../../support/chat.js';
import { http, login } from '../../support/http.js';
import { startInstance, type Instance } from '../../support/instance.js';
import { postOf, WsSession } from '../../support/websocket.js';

/**
 * Acceptance 2: two replicas of A (one database, one queue prefix, no proxy: each client picks one). A socket on
 * either replica gets each event exactly once, wherever it was caused. A third server on the same Redis with its
 * own prefix hears nothing of theirs.
 */
describe('WebSocket events across replicas', () => {
  let a1: Instance;
  let a2: Instance;
  let other: Instance;
  let alice: TestUser;
  let bob: TestUser;
  let channel: string;
  let onA1: WsSession;
  let onA2: WsSession;
  let elsewhere: WsSession;

  beforeAll(async () => {
    a1 = await startInstance('A1');
    a2 = await startInstance('A2', { DATABASE_URL: a1.config.database.url, QUEUE_PREFIX: a1.queuePrefix, FILES_DIR: a1.config.files.dir });
    other = await startInstance('O');
    const admin = await login(a1);
    [alice, bob] = await Promise.all(['alice', 'bob'].map((u) => createUser(a1, admin, u)));
    const team = await createTeam(a1, admin, 'replica-team');
    channel = await createChannel(a1, admin, team, 'replicated');
    for (const u of [alice, bob]) {
      await addToTeam(a1, admin, team, u.id);
      await addToChannel(a1, admin, channel, u.id);
    }
    onA1 = new WsSession(a1, alice.token);
    onA2 = new WsSession(a2, bob.token);
    elsewhere = new WsSession(other, await login(other));
    await Promise.all([onA1.open(), onA2.open(), elsewhere.open()]);
  }, 60_000);
  afterAll(async () => {
    for (const s of [onA1, onA2, elsewhere]) s?.close();
    await a2?.stop();
    await Promise.all([a1?.destroy(), other?.destroy()]);
  });

  /** Posts ids of `posted` events a session received. */
  const postedIds = (s: WsSession) => s.named('posted').map((m) => postOf(m).id);

  it('a socket on one replica receives, exactly once, what was made through the other', async () => {
    const viaA2 = await createPost(a2, bob.token, channel, 'made through replica 2');
    const viaA1 = await createPost(a1, alice.token, channel, 'made through replica 1');
    // The stream has one order for every replica: once a later event has arrived, a duplicate of an earlier one
    // would have arrived before it.
    const marker = await createPost(a2, bob.token, channel, 'marker');
    for (const s of [onA1, onA2]) {
      await s.next('posted', (m) => postOf(m).id === marker.id);
      expect(postedIds(s)).toEqual([viaA2.id, viaA1.id, marker.id]);
      expect(s.events.map((e) => e.seq)).toEqual(s.events.map((_, i) => i));
    }
  });

  it('typing on one replica reaches the channel members on the other', async () => {
    expect(await onA2.request('user_typing', { channel_id: channel })).toMatchObject({ status: 'OK' });
    const typing = await onA1.next('typing');
    expect(typing.data).toEqual({ parent_id: '', user_id: bob.id });
  });

  it('another server sharing the Redis (its own QUEUE_PREFIX) hears none of their events', async () => {
    // user_updated goes to every connection of a server: the surest leak if prefixes were not kept apart.
    await http(a1, 'PUT', `/api/v4/users/${alice.id}/patch`, { token: alice.token, body: { nickname: 'Al' } });
    await onA2.next('user_updated', (m) => (m.data as { user: { id: string } }).user.id === alice.id);
    const marker = await createPost(other, elsewhere.token, await ownChannel(other, elsewhere.token), 'on the other server');
    await elsewhere.next('posted', (m) => postOf(m).id === marker.id);
    expect(elsewhere.events.map((e) => e.event)).toEqual(['hello', 'channel_created', 'user_added', 'posted']);
  });
});

async function ownChannel(inst: Instance, token: string): Promise<string> {
  const team = await createTeam(inst, token, 'other-team');
  return createChannel(inst, token, team, 'other-town');
}
