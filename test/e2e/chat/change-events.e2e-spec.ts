import { EventEmitter2 } from '@nestjs/event-emitter';
import { CHAT_CHANGE_EVENT, ChangeKind, type ChangeEvent } from '../../../src/modules/chat/events/change-event.types.js';
import { PostsService } from '../../../src/modules/chat/posts/posts.service.js';
import { addToTeam, createChannel, createPost, createTeam, createUser, type TestUser } from '../../support/chat.js';
import { eventually } from '../../support/eventually.js';
import { defaultAvatarPng } from '../../../src/modules/chat/users/default-avatar.js';
import { http, login } from '../../support/http.js';
import { startInstance, type Instance } from '../../support/instance.js';

const REMOTE = 'k9w3u7hqbfd5xr8s1m2n4p6c0a';

describe('change events: one typed event per change, with channel and origin, journalled with the change', () => {
  let a: Instance;
  let admin: string;
  let bob: TestUser;
  let channel: string;
  let seen: ChangeEvent[];

  beforeAll(async () => {
    a = await startInstance('A');
    admin = await login(a);
    bob = await createUser(a, admin, 'bob');
    const team = await createTeam(a, admin, 'events-team');
    await addToTeam(a, admin, team, bob.id);
    channel = await createChannel(a, admin, team, 'events');
    seen = [];
    a.app!.get(EventEmitter2).on(CHAT_CHANGE_EVENT, (e: ChangeEvent) => {
      seen.push(e);
    });
  });
  afterAll(() => a?.destroy());

  /** Runs `action`, then expects exactly `expected` events (kind, channel, origin) from it, in memory and in the journal. */
  async function expectEvents(action: () => Promise<unknown>, expected: Array<Partial<ChangeEvent>>): Promise<ChangeEvent[]> {
    const [{ max }] = await a.query<{ max: string | null }>('SELECT max(seq) AS max FROM change_events');
    seen.length = 0;
    await action();
    await eventually(() => expect(seen).toHaveLength(expected.length));
    expect(seen).toEqual(expected.map((e) => expect.objectContaining(e)));
    const rows = await a.query<{ kind: string; channel_id: string | null; origin_remote_id: string | null }>(
      'SELECT kind, channel_id, origin_remote_id FROM change_events WHERE seq > $1 ORDER BY seq',
      [max ?? '0'],
    );
    expect(rows).toEqual(seen.map((e) => ({ kind: e.kind, channel_id: e.channel_id, origin_remote_id: e.origin_remote_id })));
    return [...seen];
  }

  const local = { origin_remote_id: null };

  it('posts: created, edited, pinned, deleted', async () => {
    let postId = '';
    await expectEvents(async () => (postId = (await createPost(a, admin, channel, 'hello')).id), [
      { kind: ChangeKind.PostCreated, channel_id: channel, ...local },
    ]);
    await expectEvents(() => http(a, 'PUT', `/api/v4/posts/${postId}/patch`, { token: admin, body: { message: 'edited' } }), [
      { kind: ChangeKind.PostEdited, channel_id: channel, ...local },
    ]);
    // Patching with the same content changes nothing and says nothing.
    await expectEvents(() => http(a, 'PUT', `/api/v4/posts/${postId}/patch`, { token: admin, body: { message: 'edited' } }), []);
    await expectEvents(() => http(a, 'POST', `/api/v4/posts/${postId}/pin`, { token: admin }), [{ kind: ChangeKind.PostEdited, channel_id: channel }]);
    await expectEvents(() => http(a, 'DELETE', `/api/v4/posts/${postId}`, { token: admin }), [
      { kind: ChangeKind.PostDeleted, channel_id: channel, ...local },
    ]);
  });

  it('reactions and acknowledgements: state changes only', async () => {
    const me = (await http<{ id: string }>(a, 'GET', '/api/v4/users/me', { token: admin })).body.id;
    const postId = (await createPost(a, admin, channel, 'react')).id;
    const react = () => http(a, 'POST', '/api/v4/reactions', { token: admin, body: { user_id: me, post_id: postId, emoji_name: 'tada' } });
    const unreact = () => http(a, 'DELETE', `/api/v4/users/${me}/posts/${postId}/reactions/tada`, { token: admin });
    await expectEvents(react, [{ kind: ChangeKind.ReactionAdded, channel_id: channel, ...local }]);
    await expectEvents(react, []);
    await expectEvents(unreact, [{ kind: ChangeKind.ReactionRemoved, channel_id: channel, ...local }]);
    await expectEvents(unreact, []);
    await expectEvents(react, [{ kind: ChangeKind.ReactionAdded, channel_id: channel }]);
    const [row] = await a.query<{ delete_at: string }>('SELECT delete_at FROM reactions WHERE post_id = $1', [postId]);
    expect(row.delete_at).toBe('0');

    await expectEvents(() => http(a, 'POST', `/api/v4/users/${me}/posts/${postId}/ack`, { token: admin }), [
      { kind: ChangeKind.AckAdded, channel_id: channel, ...local },
    ]);
    await expectEvents(() => http(a, 'DELETE', `/api/v4/users/${me}/posts/${postId}/ack`, { token: admin }), [
      { kind: ChangeKind.AckRemoved, channel_id: channel, ...local },
    ]);
  });

  it('members: added and removed', async () => {
    await expectEvents(() => http(a, 'POST', `/api/v4/channels/${channel}/members`, { token: admin, body: { user_id: bob.id } }), [
      { kind: ChangeKind.MemberAdded, channel_id: channel, user_id: bob.id, ...local } as Partial<ChangeEvent>,
    ]);
    await expectEvents(() => http(a, 'POST', `/api/v4/channels/${channel}/members`, { token: admin, body: { user_id: bob.id } }), []);
    await expectEvents(() => http(a, 'DELETE', `/api/v4/channels/${channel}/members/${bob.id}`, { token: admin }), [
      { kind: ChangeKind.MemberRemoved, channel_id: channel, user_id: bob.id } as Partial<ChangeEvent>,
    ]);
  });

  it('users: profile, picture and status (not channel-scoped)', async () => {
    await expectEvents(() => http(a, 'PUT', `/api/v4/users/${bob.id}/patch`, { token: bob.token, body: { nickname: 'Bobby' } }), [
      { kind: ChangeKind.UserUpdated, channel_id: null, user_id: bob.id, ...local } as Partial<ChangeEvent>,
    ]);
    await expectEvents(async () => {
      const form = new FormData();
      form.append('image', new Blob([defaultAvatarPng('x')], { type: 'image/png' }), 'me.png');
      const res = await fetch(`${a.url}/api/v4/users/${bob.id}/image`, { method: 'POST', body: form, headers: { Authorization: `Bearer ${bob.token}` } });
      expect(res.status).toBe(200);
    }, [{ kind: ChangeKind.UserPictureUpdated, channel_id: null, user_id: bob.id } as Partial<ChangeEvent>]);
    const img = await http(a, 'GET', `/api/v4/users/${bob.id}/image`, { token: admin });
    expect(Buffer.from(img.text, 'latin1').length).toBeGreaterThan(0);
    expect(img.headers.get('content-type')).toBe('image/png');

    await expectEvents(() => http(a, 'PUT', `/api/v4/users/${bob.id}/status`, { token: bob.token, body: { user_id: bob.id, status: 'away' } }), [
      { kind: ChangeKind.StatusChanged, channel_id: null, user_id: bob.id } as Partial<ChangeEvent>,
    ]);
    await expectEvents(() => http(a, 'PUT', `/api/v4/users/${bob.id}/status`, { token: bob.token, body: { user_id: bob.id, status: 'away' } }), []);
  });

  it('channel metadata: the change names who made it, after Mattermost\'s notice (a local system post)', async () => {
    const me = (await http<{ id: string }>(a, 'GET', '/api/v4/users/me', { token: admin })).body.id;
    await expectEvents(() => http(a, 'PUT', `/api/v4/channels/${channel}/patch`, { token: admin, body: { header: 'new header' } }), [
      { kind: ChangeKind.PostCreated, channel_id: channel, ...local },
      { kind: ChangeKind.ChannelUpdated, channel_id: channel, ...local, actor_id: me } as Partial<ChangeEvent>,
    ]);
    await expectEvents(() => http(a, 'PUT', `/api/v4/channels/${channel}/patch`, { token: admin, body: { header: 'new header' } }), []);
  });

  it('channels: created (with the creator as member) and archived', async () => {
    const team = (await http<{ id: string }[]>(a, 'GET', '/api/v4/users/me/teams', { token: admin })).body[0].id;
    let created = '';
    await expectEvents(async () => (created = await createChannel(a, admin, team, 'born-and-gone')), [
      { kind: ChangeKind.ChannelCreated, ...local },
      { kind: ChangeKind.MemberAdded, ...local },
    ]);
    expect(seen[0].channel_id).toBe(created);
    await expectEvents(() => http(a, 'DELETE', `/api/v4/channels/${created}`, { token: admin }), [{ kind: ChangeKind.ChannelDeleted, channel_id: created, ...local }]);
  });

  it('member changes name who made them', async () => {
    const me = (await http<{ id: string }>(a, 'GET', '/api/v4/users/me', { token: admin })).body.id;
    await expectEvents(() => http(a, 'POST', `/api/v4/channels/${channel}/members`, { token: admin, body: { user_id: bob.id } }), [
      { kind: ChangeKind.MemberAdded, user_id: bob.id, actor_id: me } as Partial<ChangeEvent>,
    ]);
    await expectEvents(() => http(a, 'DELETE', `/api/v4/channels/${channel}/members/${bob.id}`, { token: bob.token }), [
      { kind: ChangeKind.MemberRemoved, user_id: bob.id, actor_id: bob.id } as Partial<ChangeEvent>,
    ]);
  });

  it('carries the remote origin of changes applied on behalf of a peer', async () => {
    const me = (await http<{ id: string; roles: string }>(a, 'GET', '/api/v4/users/me', { token: admin })).body;
    const posts = a.app!.get(PostsService);
    const auth = { userId: me.id, sessionId: 'x', roles: me.roles, isAccessToken: false };
    const [event] = await expectEvents(() => posts.create(auth, { channel_id: channel, message: 'from a peer' }, { remoteId: REMOTE }), [
      { kind: ChangeKind.PostCreated, channel_id: channel, origin_remote_id: REMOTE },
    ]);
    const [row] = await a.query<{ remote_id: string }>('SELECT remote_id FROM posts WHERE id = $1', [(event as { post_id: string }).post_id]);
    expect(row.remote_id).toBe(REMOTE);
  });

  it('a failed change journals nothing', async () => {
    await expectEvents(async () => {
      const res = await http(a, 'POST', '/api/v4/posts', { token: admin, body: { channel_id: channel, message: 'x'.repeat(20000) } });
      expect(res.status).toBe(400);
    }, []);
  });
});
