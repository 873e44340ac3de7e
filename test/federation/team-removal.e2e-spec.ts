import { Client4 } from '@mattermost/client';
import { createChannel, createPost, type TestUser } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { converged, type Federation, memberOf, shareWith, startFederation } from '../support/federation.js';
import type { Instance } from '../support/instance.js';

function clientFor(inst: Instance, token: string): Client4 {
  const client = new Client4();
  client.setUrl(inst.url);
  client.setToken(token);
  return client;
}

async function members(inst: Instance, channelId: string): Promise<string[]> {
  return (await inst.query<{ user_id: string }>('SELECT user_id FROM channel_members WHERE channel_id = $1 ORDER BY user_id', [channelId])).map((r) => r.user_id);
}

/** Every way a user reads or writes a channel through Mattermost's client: each must be refused with 403. */
async function expectLockedOut(client: Client4, userId: string, channelId: string, postId: string): Promise<void> {
  const refused = { status_code: 403, server_error_id: 'api.context.permissions.app_error' };
  await expect(client.getChannel(channelId)).rejects.toMatchObject(refused);
  await expect(client.getPosts(channelId)).rejects.toMatchObject(refused);
  await expect(client.getPostThread(postId)).rejects.toMatchObject(refused);
  await expect(client.createPost({ channel_id: channelId, message: 'still here?' } as never)).rejects.toMatchObject(refused);
  await expect(client.addReaction(userId, postId, 'wave')).rejects.toMatchObject(refused);
}

/**
 * A user removed from a team used to keep reading and posting in its private channels (the channel memberships
 * stayed) and to stay synced. Removal now takes the team's channel memberships along, journalled, so membership
 * sync removes the user on the other server too.
 */
describe('removing a user from a team', () => {
  let fed: Federation;
  let channel: string;
  let alice: TestUser;
  let bob: TestUser;
  let alicePost: string;
  let bobPost: string;

  beforeAll(async () => {
    fed = await startFederation(1);
    const [A, B] = fed.sides;
    channel = await createChannel(A.inst, A.token, A.teamId, 'inner-circle', 'P');
    await shareWith(fed, channel, 1);
    alice = await memberOf(A, 'alice-tr', channel);
    bob = await memberOf(B, 'bob-tr', channel);
    alicePost = (await createPost(A.inst, alice.token, channel, 'alice was here')).id;
    bobPost = (await createPost(B.inst, bob.token, channel, 'bob was here')).id;
    await converged([A.inst, B.inst], channel);
    await eventually(async () => {
      expect(await members(A.inst, channel)).toEqual(expect.arrayContaining([alice.id, bob.id]));
      expect(await members(B.inst, channel)).toEqual(expect.arrayContaining([alice.id, bob.id]));
    }, { timeoutMs: 15_000 });
  }, 60_000);
  afterAll(() => fed?.destroy());

  it('on the channel\'s home server: the user can no longer read or post, and the other server drops the membership', async () => {
    const [A, B] = fed.sides;
    const asAlice = clientFor(A.inst, alice.token);
    expect((await asAlice.getPosts(channel)).order).toContain(alicePost);

    await clientFor(A.inst, A.token).removeFromTeam(A.teamId, alice.id);

    await expectLockedOut(asAlice, alice.id, channel, alicePost);
    expect(await members(A.inst, channel)).not.toContain(alice.id);
    const [event] = await A.inst.query<{ kind: string }>(
      `SELECT kind FROM change_events WHERE channel_id = $1 AND data->>'user_id' = $2 ORDER BY seq DESC LIMIT 1`,
      [channel, alice.id],
    );
    expect(event.kind).toBe('member_removed');
    await eventually(async () => expect(await members(B.inst, channel)).not.toContain(alice.id), { timeoutMs: 15_000 });
    // Nothing she tried reached either side.
    const state = await converged([A.inst, B.inst], channel);
    expect(state.posts.map((p) => p.message)).not.toContain('still here?');
  });

  it('on the receiving server: the same, and the channel\'s home drops the membership', async () => {
    const [A, B] = fed.sides;
    const asBob = clientFor(B.inst, bob.token);
    expect((await asBob.getPosts(channel)).order).toContain(bobPost);

    // On B the shared channel lives in the team of B's connection; B's admin removes bob from it.
    const [{ team_id: teamOnB }] = await B.inst.query<{ team_id: string }>('SELECT team_id FROM channels WHERE id = $1', [channel]);
    await clientFor(B.inst, B.token).removeFromTeam(teamOnB, bob.id);

    await expectLockedOut(asBob, bob.id, channel, bobPost);
    expect(await members(B.inst, channel)).not.toContain(bob.id);
    await eventually(async () => expect(await members(A.inst, channel)).not.toContain(bob.id), { timeoutMs: 15_000 });
  });

  it('refuses a channel membership left behind by an earlier removal (data from before this fix)', async () => {
    const [A] = fed.sides;
    const carol = await memberOf(A, 'carol-tr', channel);
    const asCarol = clientFor(A.inst, carol.token);
    expect((await asCarol.getPosts(channel)).order.length).toBeGreaterThan(0);
    // What the old removal did: the team membership soft-deleted, the channel membership left in place.
    await A.inst.query('UPDATE team_members SET delete_at = $3 WHERE team_id = $1 AND user_id = $2', [A.teamId, carol.id, Date.now()]);
    expect(await members(A.inst, channel)).toContain(carol.id);
    await expectLockedOut(asCarol, carol.id, channel, alicePost);
  });
});
