import { addToChannel, addToTeam, createChannel, createPost, createTeam, createUser, type TestUser } from '../../support/chat.js';
import { http, login } from '../../support/http.js';
import { startInstance, type Instance } from '../../support/instance.js';

/**
 * A channel's total_msg_count, last_post_at and last_root_post_at, which Mattermost clients use for unread
 * counts. They are moved by the posts_note_inserted trigger once per INSERT statement, from inserted rows only.
 */
describe('channel post counters', () => {
  let a: Instance;
  let admin: string;
  let bob: TestUser;
  let team: string;

  beforeAll(async () => {
    a = await startInstance('A');
    admin = await login(a);
    bob = await createUser(a, admin, 'counter-bob');
    team = await createTeam(a, admin, 'counters');
    await addToTeam(a, admin, team, bob.id);
  });
  afterAll(() => a?.destroy());

  const counters = async (channelId: string) =>
    (await http<{ total_msg_count: number; last_post_at: number; last_root_post_at: number }>(a, 'GET', `/api/v4/channels/${channelId}`, { token: bob.token })).body;

  it('count each new post once; a reply moves last_post_at but not last_root_post_at; edits and deletes count nothing', async () => {
    const channel = await createChannel(a, admin, team, 'counted');
    await addToChannel(a, admin, channel, bob.id);
    const start = await counters(channel);

    const root = await http<{ id: string; create_at: number }>(a, 'POST', '/api/v4/posts', { token: bob.token, body: { channel_id: channel, message: 'root' } });
    expect(root.status).toBe(201);
    expect(await counters(channel)).toMatchObject({
      total_msg_count: start.total_msg_count + 1,
      last_post_at: root.body.create_at,
      last_root_post_at: root.body.create_at,
    });

    await new Promise((r) => setTimeout(r, 5));
    const reply = await http<{ create_at: number }>(a, 'POST', '/api/v4/posts', { token: bob.token, body: { channel_id: channel, message: 'reply', root_id: root.body.id } });
    expect(reply.status).toBe(201);
    expect(reply.body.create_at).toBeGreaterThan(root.body.create_at);
    const afterReply = await counters(channel);
    expect(afterReply).toMatchObject({
      total_msg_count: start.total_msg_count + 2,
      last_post_at: reply.body.create_at,
      last_root_post_at: root.body.create_at,
    });

    expect((await http(a, 'PUT', `/api/v4/posts/${root.body.id}/patch`, { token: bob.token, body: { message: 'root, edited' } })).status).toBe(200);
    const extra = await createPost(a, bob.token, channel, 'to delete');
    expect((await http(a, 'DELETE', `/api/v4/posts/${extra.id}`, { token: bob.token })).status).toBe(200);
    expect((await counters(channel)).total_msg_count).toBe(start.total_msg_count + 3);
  });

  it('a post refused by the database leaves neither the post, its journal row, nor a count behind', async () => {
    const channel = await createChannel(a, admin, team, 'refused');
    await addToChannel(a, admin, channel, bob.id);
    const before = await counters(channel);
    const [{ n: journalBefore }] = await a.query<{ n: string }>('SELECT count(*) AS n FROM change_events WHERE channel_id = $1', [channel]);
    // PostgreSQL refuses a NUL character in text and jsonb: the single-statement insert fails as a whole.
    const res = await http(a, 'POST', '/api/v4/posts', { token: bob.token, body: { channel_id: channel, message: 'x', props: { bad: 'nul\u0000here' } } });
    expect(res.body).toMatchObject({ status_code: 400 });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(await a.query('SELECT id FROM posts WHERE channel_id = $1 AND message = $2', [channel, 'x'])).toEqual([]);
    const [{ n: journalAfter }] = await a.query<{ n: string }>('SELECT count(*) AS n FROM change_events WHERE channel_id = $1', [channel]);
    expect(journalAfter).toBe(journalBefore);
    expect((await counters(channel)).total_msg_count).toBe(before.total_msg_count);
  });

  it('a burst into one channel (written together) with one post the database refuses: each other post once, with its journal row and a distinct sequence number', async () => {
    const channel = await createChannel(a, admin, team, 'burst');
    await addToChannel(a, admin, channel, bob.id);
    const before = await counters(channel);
    const send = (i: number) =>
      http<{ id: string }>(a, 'POST', '/api/v4/posts', {
        token: bob.token,
        body: { channel_id: channel, message: `burst ${i}`, ...(i === 7 ? { props: { bad: 'nul\u0000here' } } : {}) },
      });
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => send(i)));
    const good = results.filter((_, i) => i !== 7);
    for (const r of good) expect(r.status).toBe(201);
    expect(results[7].status).toBe(400);
    const rows = await a.query<{ id: string; seq: string; message: string }>("SELECT id, seq::text AS seq, message FROM posts WHERE channel_id = $1 AND message LIKE 'burst %'", [channel]);
    expect(rows.map((r) => r.id).sort()).toEqual(good.map((r) => r.body.id).sort());
    expect(new Set(rows.map((r) => r.seq)).size).toBe(23);
    const journal = await a.query<{ post_id: string }>("SELECT data->>'post_id' AS post_id FROM change_events WHERE channel_id = $1 AND kind = 'post_created'", [channel]);
    expect(journal.map((j) => j.post_id).sort()).toEqual(good.map((r) => r.body.id).sort());
    expect((await counters(channel)).total_msg_count).toBe(before.total_msg_count + 23);
  });
});
