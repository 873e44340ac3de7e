import type { UserDirectory, UserRecord } from '../../auth/user-directory.service.js';
import type { SharedChannelStore, SharedChannelUserRow } from '../../shared-channel/shared-channel-store.service.js';
import { emptySyncResponse, type SyncMsg } from '../../shared-channel/wire.types.js';
import { FakePeer, FakeSyncRepository, limitedPeer, passContext, REMOTE, syncMetrics, transportFor } from '../../../../test/support/sync-fakes.js';
import { UserStream } from './user.stream.js';

const user = (n: number, fields: Partial<UserRecord> = {}): UserRecord =>
  ({ id: `user${String(n).padStart(22, '0')}`, username: `user${n}`, email: `u${n}@x.test`, update_at: 100, remote_id: null, props: {}, ...fields }) as UserRecord;

function setup(all: UserRecord[], synced: Array<Pick<SharedChannelUserRow, 'user_id' | 'last_sync_at'>>, peer = new FakePeer()) {
  const upserted: SharedChannelUserRow[] = [];
  const users = { findMany: async (ids: string[]) => all.filter((u) => ids.includes(u.id)) } as unknown as UserDirectory;
  const shares = {
    findChannelUsers: async (_c: string, _r: string, ids: string[]) => synced.filter((s) => ids.includes(s.user_id)),
    upsertChannelUsers: async (rows: SharedChannelUserRow[]) => void upserted.push(...rows),
  } as unknown as SharedChannelStore;
  const repo = new FakeSyncRepository();
  return { stream: new UserStream(users, shares, repo.asRepo(), transportFor(peer), syncMetrics()), repo, upserted, peer };
}

describe('UserStream', () => {
  it('sends referenced users whose profile changed since they reached the remote (never its own), 25 per message', async () => {
    const list = Array.from({ length: 30 }, (_, i) => user(i));
    const theirs = user(99, { remote_id: REMOTE });
    const { stream, peer, upserted } = setup([...list, theirs], [{ user_id: list[0].id, last_sync_at: 100 }, { user_id: list[1].id, last_sync_at: 50 }]);
    const ctx = passContext();
    const c = await stream.collect(ctx, { referenced: [...list, theirs].map((u) => u.id) });
    expect(c.toSend.map((u) => u.id)).not.toContain(list[0].id);
    expect(c.toSend.map((u) => u.id)).not.toContain(theirs.id);
    expect(c.toSend).toHaveLength(29);
    // Accepted = listed in users_syncd.
    peer.answer = (msg: SyncMsg) => ({ ...emptySyncResponse(), users_syncd: Object.keys(msg.users ?? {}) });
    await stream.advance(ctx, c, await stream.send(ctx, c));
    expect(peer.messages.map((m) => Object.keys(m.users ?? {}).length)).toEqual([25, 4]);
    expect(upserted).toHaveLength(29);
    // Sanitised on the way out: never the real email.
    const first = Object.values(peer.messages[0].users ?? {})[0];
    expect(first.email).toBe(`${first.id}@users.invalid`);
  });

  it('a user missing from users_syncd is refused and retried; one too large even alone is parked; parked ones are not sent', async () => {
    const a = user(1);
    const big = user(2, { props: { about: 'x'.repeat(5000) } });
    const parked = user(3);
    const peer = new FakePeer(limitedPeer(3000, (msg) => ({ ...emptySyncResponse(), users_syncd: [] , user_errors: Object.keys(msg.users ?? {}) })));
    const { stream, repo } = setup([a, big, parked], [], peer);
    repo.parked.user = new Set([parked.id]);
    const ctx = passContext();
    const c = await stream.collect(ctx, { referenced: [a.id, big.id, parked.id] });
    expect(c.toSend.map((u) => u.id)).toEqual([a.id, big.id]);
    await stream.advance(ctx, c, await stream.send(ctx, c));
    expect(repo.recorded.map((r) => [r.item_key, r.attempt, r.park])).toEqual([
      [a.id, true, false],
      [big.id, true, true],
    ]);
  });
});
