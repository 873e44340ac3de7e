import { EventEmitter2 } from '@nestjs/event-emitter';
import { RemoteClusterTransportError } from '../remote-cluster/remote-cluster.client.js';
import { NO_LONGER_SHARED_EVENT } from '../shared-channel/shared-channel-events.service.js';
import { emptySyncResponse } from '../shared-channel/wire.types.js';
import { FakePeer, limitedPeer, passContext, REMOTE, transportFor } from '../../../test/support/sync-fakes.js';
import { chunkItems, type DeliverySpec, NoLongerSharedError, PeerRefusedError, SyncSendError } from './sync-transport.service.js';

interface Item {
  id: string;
  text: string;
}
const items = (n: number, size = 10): Item[] => Array.from({ length: n }, (_, i) => ({ id: `i${i}`, text: 'x'.repeat(size) }));
const bytes = (i: Item) => Buffer.byteLength(JSON.stringify(i));
const spec = (list: Item[], kind: DeliverySpec<Item>['kind'] = 'post'): DeliverySpec<Item> => ({
  kind,
  items: list,
  content: (chunk) => ({ posts: chunk as never }),
  replyKey: (i) => i.id,
  maxItems: 100,
  bytes,
});

describe('chunkItems', () => {
  it('cuts by count and by bytes, keeps order, and sends an item larger than the limit alone', () => {
    const list = [...items(5), { id: 'huge', text: 'x'.repeat(500) }, ...items(2)];
    const chunks = chunkItems(list, 3, 200, bytes);
    expect(chunks.flat()).toEqual(list);
    expect(chunks.map((c) => c.length)).toEqual([3, 2, 1, 2]);
    expect(chunkItems([], 3, 200, bytes)).toEqual([]);
  });
});

describe('SyncTransport.deliver', () => {
  it('splits a message the receiver refuses as too large, down to single items, and returns those still too large', async () => {
    const list = [...items(6, 100), { id: 'huge', text: 'x'.repeat(3000) }, ...items(3, 100)];
    const peer = new FakePeer(limitedPeer(1500));
    const ctx = passContext();
    const d = await transportFor(peer).deliver(ctx, spec(list));
    expect(d.tooLarge.map((i) => i.id)).toEqual(['huge']);
    expect(d.accepted.map((i) => i.id).sort()).toEqual(list.filter((i) => i.id !== 'huge').map((i) => i.id).sort());
    expect(d.refused).toEqual([]);
    // The rest of the pass sends smaller messages.
    expect(ctx.maxBytes).toBeLessThan(2 * 1024 * 1024);
  });

  it('reads per-item errors', async () => {
    const peer = new FakePeer(() => ({ ...emptySyncResponse(), post_errors: ['i1'] }));
    const d = await transportFor(peer).deliver(passContext(), spec(items(3)));
    expect(d.refused.map((i) => i.id)).toEqual(['i1']);
    expect(d.accepted.map((i) => i.id)).toEqual(['i0', 'i2']);
  });

  it('does not take an OK without a payload as "all accepted" from a server of this project', async () => {
    const peer = new FakePeer(() => null);
    await expect(transportFor(peer).deliver(passContext({ peer: 'mmfed' }), spec(items(2), 'reaction'))).rejects.toBeInstanceOf(SyncSendError);
    await expect(transportFor(peer).deliver(passContext({ peer: 'mattermost' }), spec(items(2), 'post'))).rejects.toBeInstanceOf(SyncSendError);
    const d = await transportFor(peer).deliver(passContext({ peer: 'mattermost' }), spec(items(2), 'reaction'));
    expect(d.accepted).toHaveLength(2);
  });

  it('ends the job for good on a permanent refusal, and retries a transient one', async () => {
    const refused = new FakePeer(() => {
      throw new RemoteClusterTransportError(REMOTE, 'http_status', '/msg answered 403', 403);
    });
    await expect(transportFor(refused).deliver(passContext(), spec(items(1)))).rejects.toBeInstanceOf(PeerRefusedError);
    const busy = new FakePeer(() => {
      throw new RemoteClusterTransportError(REMOTE, 'http_status', '/msg answered 429', 429);
    });
    await expect(transportFor(busy).deliver(passContext(), spec(items(1)))).rejects.toBeInstanceOf(SyncSendError);
    const fail = new FakePeer(() => ({ fail: 'database is down' }));
    await expect(transportFor(fail).deliver(passContext(), spec(items(1)))).rejects.toBeInstanceOf(SyncSendError);
  });

  it('a FAIL saying the channel is no longer shared emits the event and ends the job', async () => {
    const emitter = new EventEmitter2();
    const seen: unknown[] = [];
    emitter.on(NO_LONGER_SHARED_EVENT, (e) => seen.push(e));
    const peer = new FakePeer(() => ({ fail: 'cannot process sync message; channel is no longer shared: x' }));
    await expect(transportFor(peer, undefined, emitter).deliver(passContext(), spec(items(1)))).rejects.toBeInstanceOf(NoLongerSharedError);
    expect(seen).toHaveLength(1);
  });

  it('reads a payload that is not an object as no payload', async () => {
    const peer = new FakePeer(() => 'all good' as never);
    await expect(transportFor(peer).deliver(passContext(), spec(items(1)))).rejects.toBeInstanceOf(SyncSendError);
  });
});
