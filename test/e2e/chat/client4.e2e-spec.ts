import { Client4 } from '@mattermost/client';
import { startInstance, TEST_ADMIN, type Instance } from '../../support/instance.js';
import { shapeDiff } from '../../support/wire-shape.js';

/** Drives the server only through Mattermost's own JS client, as a Mattermost web or desktop app would. */
describe('Mattermost Client4 against the chat core', () => {
  let a: Instance;
  let admin: Client4;

  beforeAll(async () => {
    a = await startInstance('A');
    admin = new Client4();
    admin.setUrl(a.url);
  });
  afterAll(() => a?.destroy());

  it('logs in, creates a team, a channel, posts, replies, reacts, patches, deletes and lists', async () => {
    const me = await admin.login(TEST_ADMIN.username, TEST_ADMIN.password);
    expect(me.username).toBe(TEST_ADMIN.username);
    expect(admin.getToken()).toMatch(/^[a-z0-9]{26}$/);
    expect(me).not.toHaveProperty('password');

    const team = await admin.createTeam({ name: 'eng', display_name: 'Engineering', type: 'O' } as never);
    expect(team).toMatchObject({ name: 'eng', display_name: 'Engineering', type: 'O', delete_at: 0 });
    expect((await admin.getMyTeams()).map((t) => t.id)).toEqual([team.id]);

    const channel = await admin.createChannel({ team_id: team.id, name: 'town-talk', display_name: 'Town Talk', type: 'O' } as never);
    expect(channel).toMatchObject({ team_id: team.id, name: 'town-talk', type: 'O', shared: false });
    expect((await admin.getMyChannels(team.id)).map((c) => c.id)).toContain(channel.id);

    const root = await admin.createPost({ channel_id: channel.id, message: 'hello federation' } as never);
    expect(shapeDiff(root as never, 'Post.with-optional-fields', ['message_source', 'has_reactions', 'remote_id', 'is_following'])).toEqual([]);
    expect(root).toMatchObject({ channel_id: channel.id, user_id: me.id, message: 'hello federation', root_id: '', edit_at: 0, delete_at: 0 });
    expect(root.create_at).toBeGreaterThan(Date.now() - 60_000);

    const reply = await admin.createPost({ channel_id: channel.id, message: 'a reply', root_id: root.id } as never);
    expect(reply.root_id).toBe(root.id);

    const reaction = await admin.addReaction(me.id, root.id, '+1');
    expect(shapeDiff(reaction as never, 'Reaction')).toEqual([]);
    expect(reaction).toMatchObject({ user_id: me.id, post_id: root.id, emoji_name: '+1', delete_at: 0, remote_id: null, channel_id: channel.id });

    const reactions = await admin.getReactionsForPost(root.id);
    expect(reactions.map((r) => r.emoji_name)).toEqual(['+1']);
    expect(await admin.getReactionsForPost(reply.id)).toEqual([]);

    const patched = await admin.patchPost({ id: root.id, message: 'hello federation (edited)' } as never);
    expect(patched.message).toBe('hello federation (edited)');
    expect(patched.edit_at).toBeGreaterThan(0);
    expect(patched.update_at).toBeGreaterThanOrEqual(patched.edit_at);

    const list = await admin.getPosts(channel.id);
    expect(list.order).toEqual([reply.id, root.id]);
    expect(list.posts[root.id].message).toBe('hello federation (edited)');
    expect(list.posts[root.id].reply_count).toBe(1);
    expect(list.posts[root.id].metadata.reactions?.map((r) => r.emoji_name)).toEqual(['+1']);
    expect((list.posts[root.id] as unknown as { has_reactions: boolean }).has_reactions).toBe(true);
    expect(list).toHaveProperty('next_post_id', '');
    expect(list).toHaveProperty('prev_post_id', '');

    const thread = await admin.getPostThread(root.id);
    expect(new Set(thread.order)).toEqual(new Set([root.id, reply.id]));

    await admin.removeReaction(me.id, root.id, '+1');
    expect(await admin.getReactionsForPost(root.id)).toEqual([]);

    await admin.deletePost(reply.id);
    await expect(admin.getPost(reply.id)).rejects.toMatchObject({ status_code: 404 });
    const after = await admin.getPosts(channel.id);
    expect(after.order).toEqual([root.id]);
    expect(after.posts[root.id].reply_count).toBe(0);
  });

  it('sets and reads statuses in Mattermost\'s shape', async () => {
    const me = await admin.getMe();
    const status = await admin.updateStatus({ user_id: me.id, status: 'dnd', dnd_end_time: 1735740000 } as never);
    expect(shapeDiff(status as never, 'Status', ['active_channel'])).toEqual([]);
    expect(await admin.getStatus(me.id)).toMatchObject({ user_id: me.id, status: 'dnd', manual: true, dnd_end_time: 1735740000 });
  });

  it('acknowledges posts, pins them and serves users and pictures', async () => {
    const me = await admin.getMe();
    const [team] = await admin.getMyTeams();
    const [channel] = (await admin.getMyChannels(team.id)).filter((c) => c.name === 'town-talk');
    const post = await admin.createPost({ channel_id: channel.id, message: 'please ack' } as never);
    const ack = await admin.acknowledgePost(post.id, me.id);
    expect(ack).toMatchObject({ user_id: me.id, post_id: post.id, channel_id: channel.id });
    expect(ack.acknowledged_at).toBeGreaterThan(0);
    expect((await admin.getPost(post.id)).metadata.acknowledgements?.map((x) => x.user_id)).toEqual([me.id]);
    await admin.unacknowledgePost(post.id, me.id);
    expect((await admin.getPost(post.id)).metadata.acknowledgements).toBeUndefined();

    await admin.pinPost(post.id);
    expect((await admin.getPost(post.id)).is_pinned).toBe(true);
    await admin.unpinPost(post.id);
    expect((await admin.getPost(post.id)).is_pinned).toBe(false);

    expect((await admin.getProfilesByIds([me.id])).map((u) => u.username)).toEqual([TEST_ADMIN.username]);
    expect((await admin.getProfilesByUsernames([TEST_ADMIN.username])).map((u) => u.id)).toEqual([me.id]);
    const patched = await admin.patchMe({ nickname: 'Boss' } as never);
    expect(patched.nickname).toBe('Boss');

    const picture = await fetch(admin.getProfilePictureUrl(me.id, 0), { headers: { Authorization: `Bearer ${admin.getToken()}` } });
    expect(picture.status).toBe(200);
    expect(picture.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await picture.arrayBuffer()).subarray(1, 4).toString('ascii')).toBe('PNG');
  });

  it('uploads a file and attaches it to a post', async () => {
    const [team] = await admin.getMyTeams();
    const [channel] = (await admin.getMyChannels(team.id)).filter((c) => c.name === 'town-talk');
    const form = new FormData();
    form.append('channel_id', channel.id);
    form.append('files', new Blob([Buffer.from('hello file')], { type: 'text/plain' }), 'hello.txt');
    const uploaded = await admin.uploadFile(form);
    expect(uploaded.file_infos).toHaveLength(1);
    const info = uploaded.file_infos[0];
    expect(info).toMatchObject({ name: 'hello.txt', extension: 'txt', size: 10, mime_type: 'text/plain', post_id: '', channel_id: channel.id });

    const post = await admin.createPost({ channel_id: channel.id, message: 'with file', file_ids: [info.id] } as never);
    expect(post.file_ids).toEqual([info.id]);
    expect((await admin.getFileInfosForPost(post.id)).map((f) => f.id)).toEqual([info.id]);
    const body = await fetch(admin.getFileUrl(info.id, 0), { headers: { Authorization: `Bearer ${admin.getToken()}` } });
    expect(await body.text()).toBe('hello file');
  });
});
