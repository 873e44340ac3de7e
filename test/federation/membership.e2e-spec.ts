import { newId } from '../../src/common/ids.js';
import { createChannel } from '../support/chat.js';
import { addMembers, addToTeam, createUsers, removeMembers } from '../support/bulk.js';
import { eventually } from '../support/eventually.js';
import { type Federation, memberOf, shareWith, startFederation } from '../support/federation.js';
import { http } from '../support/http.js';
import type { Instance } from '../support/instance.js';
import { metricValue } from '../support/remote-cluster.js';
import { remoteRow, sendFrame } from '../support/shared-channel.js';

async function members(inst: Instance, channelId: string): Promise<string[]> {
  return (await inst.query<{ user_id: string }>('SELECT user_id FROM channel_members WHERE channel_id = $1 ORDER BY user_id', [channelId])).map((r) => r.user_id);
}

/** Waits until both sides list the same members, and returns them. */
async function agree(fed: Federation, channelId: string, timeoutMs = 20_000): Promise<string[]> {
  return eventually(async () => {
    const [a, b] = await Promise.all(fed.sides.map((s) => members(s.inst, channelId)));
    expect(b).toEqual(a);
    return a;
  }, { timeoutMs, intervalMs: 100 });
}

describe('membership sync', () => {
  let fed: Federation;

  beforeAll(async () => {
    fed = await startFederation(1);
  }, 60_000);
  afterAll(() => fed?.destroy());

  it('members added and removed on either side are reflected on the other', async () => {
    const [A, B] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'roster', 'P');
    await shareWith(fed, channel, 1);
    // The first pass sends every current member: each side's admin (creator on A, connection owner on B).
    expect(await agree(fed, channel)).toHaveLength(2);

    const carol = await memberOf(A, 'carol', channel);
    const dave = await memberOf(B, 'dave', channel);
    let both = await agree(fed, channel);
    expect(both).toEqual(expect.arrayContaining([carol.id, dave.id]));
    // On B, A's user is a synthetic user owned by A's connection, brought into the channel's team too.
    const [carolOnB] = await B.inst.query<{ remote_id: string; username: string }>('SELECT remote_id, username FROM users WHERE id = $1', [carol.id]);
    expect(carolOnB).toEqual({ remote_id: fed.remoteIds[1], username: 'carol:to-a' });
    expect(await B.inst.query('SELECT 1 FROM team_members WHERE team_id = $1 AND user_id = $2 AND delete_at = 0', [B.teamId, carol.id])).toHaveLength(1);

    await http(A.inst, 'DELETE', `/api/v4/channels/${channel}/members/${carol.id}`, { token: A.token });
    await http(B.inst, 'DELETE', `/api/v4/channels/${channel}/members/${dave.id}`, { token: B.token });
    both = await agree(fed, channel);
    expect(both).not.toContain(carol.id);
    expect(both).not.toContain(dave.id);
    expect(both).toHaveLength(2);
    // The API's timestamp cursor moved with the journal cursor.
    expect(Number((await remoteRow(A.inst, channel, fed.remoteIds[1]))!.last_members_sync_at)).toBeGreaterThan(0);
  }, 60_000);

  it('after B was offline during 150 membership changes, both sides agree', async () => {
    const [A, B] = fed.sides;
    const channel = await createChannel(A.inst, A.token, A.teamId, 'crowd');
    await shareWith(fed, channel, 1);
    const before = await agree(fed, channel);

    // New users of A's team (not membership changes of the channel yet), then B goes away for the 150 changes.
    const ids = await createUsers(A.inst, A.token, 'crowd', 100);
    await addToTeam(A.inst, A.token, A.teamId, ids);
    await B.inst.stop();
    await addMembers(A.inst, A.token, channel, ids);
    await removeMembers(A.inst, A.token, channel, ids.slice(0, 50));
    const changes = await A.inst.query<{ n: string }>(
      "SELECT count(*) AS n FROM change_events WHERE channel_id = $1 AND kind IN ('member_added', 'member_removed')",
      [channel],
    );
    expect(Number(changes[0].n)).toBeGreaterThanOrEqual(150);

    await B.inst.start();
    const after = await agree(fed, channel, 60_000);
    expect(after).toHaveLength(before.length + 50);
    expect(after).toEqual(expect.arrayContaining(ids.slice(50)));
    for (const id of ids.slice(0, 50)) expect(after).not.toContain(id);
    // B was told the net change of each of the 100 users once: 50 joins, and 50 leaves of users it never saw
    // (no-ops there). The 150 journal events did not become 150 changes.
    const received = await metricValue(B.inst, 'shared_channels_items_received_total', { kind: 'membership' });
    expect(received).toBe(100);
    expect(await metricValue(B.inst, 'shared_channels_item_errors_total', { kind: 'membership' })).toBe(0);
  }, 180_000);

  it('the older sharedchannel_membership topic is accepted, and a sender can add or remove only its own users', async () => {
    const [A, B] = fed.sides;
    const remoteId = fed.remoteIds[1];
    const channel = await createChannel(A.inst, A.token, A.teamId, 'raw-roster');
    await shareWith(fed, channel, 1);
    const erin = await memberOf(B, 'erin', channel);
    const local = await memberOf(A, 'frank', channel);
    await agree(fed, channel);
    const change = (userId: string, isAdd: boolean) => ({ channel_id: channel, user_id: userId, is_add: isAdd, remote_id: remoteId, change_time: Date.now() });

    // As an older B would send it: erin leaves; and B tries to remove A's own user.
    const res = await sendFrame(B.inst, A.inst, remoteId, 'sharedchannel_membership', {
      id: newId(),
      channel_id: channel,
      membership_changes: [change(erin.id, false), change(local.id, false)],
    });
    expect(res.body.status).toBe('OK');
    expect(res.body.payload.membership_errors).toEqual([local.id]);
    const onA = await members(A.inst, channel);
    expect(onA).not.toContain(erin.id);
    expect(onA).toContain(local.id);
  }, 60_000);
});
