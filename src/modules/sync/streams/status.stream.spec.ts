import type { UserDirectory, UserRecord } from '../../auth/user-directory.service.js';
import type { ChannelFeed, StatusRecord } from '../../chat/feed/channel-feed.service.js';
import type { UsersProfileService } from '../../chat/users/users-profile.service.js';
import type { SharedChannelStore } from '../../shared-channel/shared-channel-store.service.js';
import { emptySyncResponse } from '../../shared-channel/wire.types.js';
import { FakePeer, FakeSyncRepository, passContext, REMOTE, syncMetrics, transportFor } from '../../../../test/support/sync-fakes.js';
import { StatusStream } from './status.stream.js';

const uid = (n: number) => `stat${String(n).padStart(22, '0')}`;
const status = (userId: string, s = 'away'): StatusRecord => ({ user_id: userId, status: s, manual: true, last_activity_at: 1, dnd_end_time: 0, prev_status: '', update_at: 5 }) as StatusRecord;

describe('StatusStream', () => {
  it('sends the current status of changed members (not the remote’s own users), reads status_errors, then moves the cursor', async () => {
    const events = [
      { seq: 6, kind: 'status_changed', user_id: uid(1) },
      { seq: 7, kind: 'user_updated', user_id: uid(2) },
      { seq: 8, kind: 'status_changed', user_id: uid(3) },
      { seq: 9, kind: 'status_changed', user_id: uid(4) },
    ];
    const users = [{ id: uid(1), remote_id: null }, { id: uid(3), remote_id: REMOTE }, { id: uid(4), remote_id: 'o'.repeat(26) }] as UserRecord[];
    const cursors: Array<Record<string, unknown>> = [];
    const feed = { userEventsAfter: async () => events } as unknown as ChannelFeed;
    const dir = { findMany: async (ids: string[]) => users.filter((u) => ids.includes(u.id)) } as unknown as UserDirectory;
    const profiles = { statusesOf: async (ids: string[]) => ids.map((i) => status(i)) } as unknown as UsersProfileService;
    const shares = { saveCursors: async (_id: string, f: Record<string, unknown>) => void cursors.push(f) } as unknown as SharedChannelStore;
    const repo = new FakeSyncRepository();
    const peer = new FakePeer(() => ({ ...emptySyncResponse(), status_errors: [uid(4)] }));
    const stream = new StatusStream(feed, dir, profiles, shares, repo.asRepo(), transportFor(peer), syncMetrics());
    const ctx = passContext();
    const c = await stream.collect(ctx);
    expect(c.userIds).toEqual([uid(1), uid(2), uid(3), uid(4)]);
    await stream.advance(ctx, c, await stream.send(ctx, c));
    // A relayed user's status goes on (the hub relays); the remote's own does not go back.
    expect(peer.messages[0].statuses?.map((s) => s.user_id)).toEqual([uid(1), uid(4)]);
    expect(repo.recorded).toMatchObject([{ kind: 'status', item_key: uid(4), attempt: true }]);
    expect(repo.accepted).toEqual([{ kind: 'status', keys: [uid(1)] }]);
    expect(cursors).toEqual([{ last_user_event_seq: 9 }]);
  });
});
