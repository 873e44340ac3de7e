import { WebSocketHub } from '../../../src/modules/websocket/websocket-hub.service.js';
import { addToChannel, addToTeam, createChannel, createPost, createTeam, createUser, type TestUser } from '../../support/chat.js';
import { eventually } from '../../support/eventually.js';
import { login } from '../../support/http.js';
import { startInstance, type Instance } from '../../support/instance.js';
import { metricValue } from '../../support/remote-cluster.js';
import { closed, postOf, rawSocket, WsSession } from '../../support/websocket.js';

/** Authentication, resumption after a dropped connection, slow clients and shutdown. */
describe('WebSocket connections', () => {
  let a: Instance;
  let admin: string;
  let alice: TestUser;
  let bob: TestUser;
  let channel: string;

  beforeAll(async () => {
    // A small resume buffer and send cap, so the tests can go past them quickly.
    a = await startInstance('A', { WEBSOCKET_RESUME_BUFFER: '16', WEBSOCKET_SEND_BUFFER_BYTES: '16384' });
    admin = await login(a);
    [alice, bob] = await Promise.all(['alice', 'bob'].map((u) => createUser(a, admin, u)));
    const team = await createTeam(a, admin, 'conn-team');
    channel = await createChannel(a, admin, team, 'conn-town');
    for (const u of [alice, bob]) {
      await addToTeam(a, admin, team, u.id);
      await addToChannel(a, admin, channel, u.id);
    }
  });
  afterAll(() => a?.destroy());

  const resumable = () => metricValue(a, 'websocket_connections_resumable');

  it('authenticates by the Authorization header or the session cookie on the upgrade, without a challenge', async () => {
    const ways: Array<Record<string, string>> = [{ Authorization: `Bearer ${alice.token}` }, { Cookie: `MMAUTHTOKEN=${alice.token}` }];
    for (const headers of ways) {
      const { ws, frames } = await rawSocket(a, { headers });
      await eventually(() => expect(frames[0]).toMatchObject({ event: 'hello', seq: 0, broadcast: { user_id: alice.id } }));
      ws.send(JSON.stringify({ seq: 1, action: 'ping' }));
      await eventually(() => expect(frames).toContainEqual(expect.objectContaining({ status: 'OK', seq_reply: 1 })));
      ws.close();
      await closed(ws);
    }
  });

  it('refuses a bad token, a foreign origin and ?access_token=; an unauthenticated socket gets 401 replies', async () => {
    await expect(rawSocket(a, { headers: { Authorization: 'Bearer notavalidtokennotavalidtoken' } })).rejects.toMatchObject({ status: 401 });
    await expect(rawSocket(a, { headers: { Authorization: `Bearer ${alice.token}`, Origin: 'http://evil.example' } })).rejects.toMatchObject({ status: 403 });

    // The query string is not a way in: the socket opens unauthenticated and must answer the challenge.
    const { ws, frames } = await rawSocket(a, { query: `?access_token=${alice.token}` });
    ws.send(JSON.stringify({ seq: 1, action: 'ping' }));
    await eventually(() =>
      expect(frames).toEqual([{ status: 'FAIL', seq_reply: 1, error: expect.objectContaining({ id: 'api.web_socket_router.not_authenticated.app_error', status_code: 401 }) }]),
    );
    ws.send(JSON.stringify({ seq: 2, action: 'authentication_challenge', data: { token: 'wrong' } }));
    expect(await closed(ws)).toBe(1008);

    // A frame that is not JSON closes the socket, as Mattermost does.
    const other = await rawSocket(a);
    other.ws.send('not json');
    expect(await closed(other.ws)).toBe(1003);
  });

  it('resumes with connection_id and sequence_number after a dropped connection: every event of the gap, none twice', async () => {
    const session = new WsSession(a, alice.token);
    const connectionId = await session.open();
    try {
      const before = await createPost(a, bob.token, channel, 'before the drop');
      await session.next('posted', (m) => postOf(m).id === before.id);
      const resumedBefore = await metricValue(a, 'websocket_reconnects_total', { result: 'resumed' });
      const kept = await resumable();

      // The client stays away until the gap is filled.
      session.hold();
      session.socket!.terminate();
      await eventually(async () => expect(await resumable()).toBe(kept + 1));
      const gap: string[] = [];
      for (let i = 0; i < 5; i++) gap.push((await createPost(a, bob.token, channel, `in the gap ${i}`)).id);
      session.release();

      await eventually(() => expect(session.events.filter((e) => e.event === 'posted' && gap.includes(postOf(e).id))).toHaveLength(5), { timeoutMs: 15_000 });
      const after = await createPost(a, bob.token, channel, 'after the reconnect');
      await session.next('posted', (m) => postOf(m).id === after.id);

      const posted = session.named('posted').map((e) => postOf(e).id);
      expect(posted).toEqual([before.id, ...gap, after.id]);
      // Same connection, no second hello, no refetch, and the sequence has no hole or repeat.
      expect(session.reconnects).toBe(1);
      expect(session.connectionId).toBe(connectionId);
      expect(session.named('hello')).toHaveLength(1);
      expect(session.missed).toBe(0);
      expect(session.events.map((e) => e.seq)).toEqual(session.events.map((_, i) => i));
      expect(await metricValue(a, 'websocket_reconnects_total', { result: 'resumed' })).toBe(resumedBefore + 1);
    } finally {
      session.close();
    }
  });

  it('answers a fresh hello with a new connection id when the buffer no longer covers the gap', async () => {
    const session = new WsSession(a, alice.token);
    const connectionId = await session.open();
    try {
      const kept = await resumable();
      session.hold();
      session.socket!.terminate();
      await eventually(async () => expect(await resumable()).toBe(kept + 1));
      // 20 events into a 16-event buffer: the connection's state is given up as soon as it cannot be resumed (so
      // are the earlier tests' closed connections, which hear the same posts).
      for (let i = 0; i < 20; i++) await createPost(a, bob.token, channel, `too many ${i}`);
      await eventually(async () => expect(await resumable()).toBe(0));
      session.release();

      await eventually(() => expect(session.named('hello')).toHaveLength(2), { timeoutMs: 15_000 });
      const hello = session.named('hello')[1];
      expect(hello.seq).toBe(0);
      expect(session.connectionId).not.toBe(connectionId);
      expect(session.missed).toBe(1);
      const after = await createPost(a, bob.token, channel, 'after the fresh start');
      expect((await session.next('posted', (m) => postOf(m).id === after.id)).seq).toBe(1);
    } finally {
      session.close();
    }
  });

  it('a resume that arrives before the old socket is gone takes the connection over', async () => {
    const headers = { Authorization: `Bearer ${alice.token}` };
    const first = await rawSocket(a, { headers });
    await eventually(() => expect(first.frames[0]?.event).toBe('hello'));
    const connectionId = first.frames[0].data.connection_id as string;
    // Another user naming that connection gets a connection of their own and takes nothing.
    const intruder = await rawSocket(a, { headers: { Authorization: `Bearer ${bob.token}` }, query: `?connection_id=${connectionId}&sequence_number=1` });
    await eventually(() => expect(intruder.frames[0]).toMatchObject({ event: 'hello', broadcast: { user_id: bob.id } }));
    expect(intruder.frames[0].data.connection_id).not.toBe(connectionId);
    expect(first.ws.readyState).toBe(first.ws.OPEN);
    intruder.ws.close();
    const firstClosed = closed(first.ws);
    const second = await rawSocket(a, { headers, query: `?connection_id=${connectionId}&sequence_number=1` });
    expect(await firstClosed).toBe(4009);
    const post = await createPost(a, bob.token, channel, 'to the newer socket');
    await eventually(() => expect(second.frames.map((f) => f.event)).toEqual(['posted']));
    expect(second.frames[0].seq).toBe(1);
    expect(JSON.parse(second.frames[0].data.post).id).toBe(post.id);
    second.ws.close();
    await closed(second.ws);
  });

  it('disconnects a client that stops reading once its unsent frames pass the cap, and counts it', async () => {
    const { ws } = await rawSocket(a, { headers: { Authorization: `Bearer ${alice.token}` } });
    const socket = (ws as unknown as { _socket: { pause(): void } })._socket;
    socket.pause();
    const slowBefore = await metricValue(a, 'websocket_slow_client_disconnects_total');
    const big = 'x'.repeat(16_000);
    // Loopback buffers take a few megabytes before the server's own queue grows: keep posting until it gives up.
    for (let i = 0; i < 2_000 && (await metricValue(a, 'websocket_slow_client_disconnects_total')) === slowBefore; i += 25) {
      await Promise.all(Array.from({ length: 25 }, () => createPost(a, bob.token, channel, big)));
    }
    expect(await metricValue(a, 'websocket_slow_client_disconnects_total')).toBe(slowBefore + 1);
    // Dropped for good: no state is kept for it, and other connections are unaffected.
    expect(a.app!.get(WebSocketHub).size).toBe(0);
    ws.terminate();
  });

  it('counts open connections and closes them with 1001 (going away) on shutdown', async () => {
    const sockets = await Promise.all([alice, bob].map((u) => rawSocket(a, { headers: { Authorization: `Bearer ${u.token}` } })));
    await eventually(async () => expect(await metricValue(a, 'websocket_connections')).toBe(2));
    const codes = sockets.map((s) => closed(s.ws));
    await a.stop();
    expect(await Promise.all(codes)).toEqual([1001, 1001]);
  });
});
