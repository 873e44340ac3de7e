import type { UserDirectory, UserRecord } from '../../auth/user-directory.service.js';
import type { ChannelFeed } from '../../chat/feed/channel-feed.service.js';
import type { MembershipCollection, MembershipService } from '../../membership/membership.service.js';
import type { SharedChannelRecord, SharedChannelStore } from '../../shared-channel/shared-channel-store.service.js';
import { emptySyncResponse } from '../../shared-channel/wire.types.js';
import { CHANNEL, FakePeer, FakeSyncRepository, passContext, syncMetrics, transportFor } from '../../../../test/support/sync-fakes.js';
import { MembershipStream } from './membership.stream.js';
import type { UserStream } from './user.stream.js';

const u = (n: number, fields: Partial<UserRecord> = {}) => ({ id: `mem${String(n).padStart(23, '0')}`, update_at: 1, remote_id: null, ...fields }) as UserRecord;

function setup(collected: MembershipCollection, opts: { members?: string[]; users?: UserRecord[]; peer?: FakePeer } = {}) {
  const cursors: Array<Record<string, unknown>> = [];
  const synced: UserRecord[] = [];
  const membership = { enabled: true, collect: async () => collected } as unknown as MembershipService;
  const feed = { channelMemberIds: async (_c: string, ids: string[]) => ids.filter((i) => (opts.members ?? []).includes(i)) } as unknown as ChannelFeed;
  const users = { findMany: async (ids: string[]) => (opts.users ?? []).filter((x) => ids.includes(x.id)) } as unknown as UserDirectory;
  const shares = { saveCursors: async (_id: string, f: Record<string, unknown>) => void cursors.push(f) } as unknown as SharedChannelStore;
  const userStream = { markSynced: async (_ctx: unknown, list: UserRecord[]) => void synced.push(...list) } as unknown as UserStream;
  const repo = new FakeSyncRepository();
  const peer = opts.peer ?? new FakePeer();
  const stream = new MembershipStream(membership, feed, users, shares, repo.asRepo(), transportFor(peer), userStream, syncMetrics());
  return { stream, repo, cursors, synced, peer };
}

const change = (user: UserRecord, isAdd: boolean) => ({ channel_id: CHANNEL, user_id: user.id, is_add: isAdd, remote_id: '', change_time: 5 });

describe('MembershipStream', () => {
  it('sends the net changes with the added users’ profiles, records refusals, and moves the journal cursor', async () => {
    const a = u(1);
    const b = u(2);
    const collected: MembershipCollection = { changes: [change(a, true), change(b, false)], addedUsers: [a], scanned: 7, lastSeq: 42, lastAt: 9 };
    const peer = new FakePeer(() => ({ ...emptySyncResponse(), users_syncd: [a.id], membership_errors: [b.id] }));
    const { stream, repo, cursors, synced } = setup(collected, { peer });
    const ctx = passContext({ share: { type: 'O' } as SharedChannelRecord });
    const c = await stream.collect(ctx);
    await stream.advance(ctx, c, await stream.send(ctx, c));
    expect(peer.messages[0]).toMatchObject({ membership_changes: collected.changes, users: { [a.id]: expect.objectContaining({ id: a.id }) } });
    expect(synced.map((x) => x.id)).toEqual([a.id]);
    expect(repo.accepted).toEqual([{ kind: 'membership', keys: [a.id] }]);
    expect(repo.recorded).toMatchObject([{ kind: 'membership', item_key: b.id, attempt: true }]);
    expect(cursors).toEqual([{ last_member_event_seq: 42, last_members_sync_at: 9 }]);
  });

  it('sends nothing for a direct or group channel, but the cursor moves', async () => {
    const a = u(1);
    const { stream, peer, cursors } = setup({ changes: [change(a, true)], addedUsers: [a], scanned: 1, lastSeq: 3, lastAt: 1 });
    const ctx = passContext({ share: { type: 'D' } as SharedChannelRecord });
    const c = await stream.collect(ctx);
    await stream.advance(ctx, c, await stream.send(ctx, c));
    expect(peer.messages).toEqual([]);
    expect(cursors).toEqual([{ last_member_event_seq: 3, last_members_sync_at: 1 }]);
  });

  it('a retry sends the membership as it is now', async () => {
    const inNow = u(1);
    const outNow = u(2);
    const { stream, repo, peer } = setup({ changes: [], addedUsers: [], scanned: 0, lastSeq: 0, lastAt: 0 }, { members: [inNow.id], users: [inNow, outNow] });
    repo.due.membership = [{ item_key: inNow.id }, { item_key: outNow.id }];
    const ctx = passContext({ share: { type: 'P' } as SharedChannelRecord });
    const c = await stream.collect(ctx);
    await stream.send(ctx, c!);
    expect(peer.messages[0].membership_changes?.map((ch) => [ch.user_id, ch.is_add])).toEqual([
      [inNow.id, true],
      [outNow.id, false],
    ]);
  });
});
