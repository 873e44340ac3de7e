import type { ChannelFeed, PostRecord } from '../../chat/feed/channel-feed.service.js';
import type { SharedChannelStore } from '../../shared-channel/shared-channel-store.service.js';
import { emptySyncResponse } from '../../shared-channel/wire.types.js';
import { CHANNEL, FakePeer, FakeSyncRepository, passContext, post, syncMetrics, transportFor } from '../../../../test/support/sync-fakes.js';
import { type AckItem, AcknowledgementStream } from './acknowledgement.stream.js';

function ack(p: PostRecord, fields: Partial<AckItem> = {}): AckItem {
  const a = { user_id: 'u'.repeat(26), post_id: p.id, acknowledged_at: 5, update_at: 5, channel_id: CHANNEL, remote_id: null, seq: 10, ...fields };
  return { ...a, key: `${a.user_id}:${a.post_id}` };
}

describe('AcknowledgementStream', () => {
  it('sends acknowledgements as state, reads acknowledgement_errors by post, and moves its own cursor', async () => {
    const ok = post({ seq: 6 });
    const refused = post({ seq: 7 });
    const items = [ack(ok, { seq: 8 }), ack(refused, { seq: 9, acknowledged_at: 0 })];
    const byId = new Map([ok, refused].map((p) => [p.id, p]));
    const cursors: Array<Record<string, unknown>> = [];
    const feed = {
      acksAfter: async () => items,
      acksByKeys: async () => [],
      postsByIds: async (ids: string[]) => ids.flatMap((i) => (byId.has(i) ? [byId.get(i)!] : [])),
    } as unknown as ChannelFeed;
    const shares = {
      saveCursors: async (_id: string, f: Record<string, unknown>) => void cursors.push(f),
      findRemote: async () => null,
    } as unknown as SharedChannelStore;
    const repo = new FakeSyncRepository();
    const peer = new FakePeer(() => ({ ...emptySyncResponse(), acknowledgement_errors: [refused.id] }));
    const stream = new AcknowledgementStream(repo.asRepo(), transportFor(peer, undefined, undefined, repo), syncMetrics(), feed, shares);
    const ctx = passContext();
    const c = await stream.collect(ctx, { postCursorSeq: 20 });
    await stream.advance(ctx, c, await stream.send(ctx, c));
    expect(peer.messages[0].acknowledgements).toMatchObject([{ post_id: ok.id, acknowledged_at: 5 }, { post_id: refused.id, acknowledged_at: 0 }]);
    expect(repo.accepted).toEqual([{ kind: 'acknowledgement', keys: [items[0].key] }]);
    expect(repo.recorded).toMatchObject([{ kind: 'acknowledgement', item_key: items[1].key, waiting_for: refused.id }]);
    expect(repo.requested).toEqual([refused.id]);
    expect(cursors).toEqual([expect.objectContaining({ last_ack_seq: 9, last_ack_key: items[1].key })]);
    expect(ctx.sent.acks).toBe(1);
  });
});
