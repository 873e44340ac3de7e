import type { UserDirectory } from '../../auth/user-directory.service.js';
import type { ChannelRecord, ChannelsService } from '../../chat/channels/channels.service.js';
import type { ChannelFeed } from '../../chat/feed/channel-feed.service.js';
import { RemoteClusterTransportError } from '../../remote-cluster/remote-cluster.client.js';
import type { RemoteClusterService } from '../../remote-cluster/remote-cluster.service.js';
import type { SharedChannelRecord, SharedChannelStore } from '../../shared-channel/shared-channel-store.service.js';
import { CHANNEL, passContext, REMOTE, scr, syncMetrics } from '../../../../test/support/sync-fakes.js';
import { PeerRefusedError, SyncSendError } from '../sync-transport.service.js';
import { ChannelDetailsStream } from './channel-details.stream.js';

const ACTOR = 'a'.repeat(26);
const channel = { id: CHANNEL, display_name: 'Town', header: 'H', purpose: 'P', update_at: 500, creator_id: 'c'.repeat(26) } as ChannelRecord;
const homeShare = { channel_id: CHANNEL, home: true } as SharedChannelRecord;

function streamWith(answer: () => Promise<{ status: string; err: string; payload: unknown }>) {
  const sent: Array<{ topic: string; payload: unknown }> = [];
  const cursors: Array<Record<string, unknown>> = [];
  const remotes = {
    sendMsg: async (_r: string, topic: string, payload: unknown) => {
      sent.push({ topic, payload });
      return answer();
    },
  } as unknown as RemoteClusterService;
  const stream = new ChannelDetailsStream(
    { findById: async () => channel } as unknown as ChannelsService,
    { lastChannelUpdateActor: async () => ACTOR } as unknown as ChannelFeed,
    { find: async (id: string) => ({ id, username: 'alice' }) } as unknown as UserDirectory,
    remotes,
    { saveCursors: async (_id: string, f: Record<string, unknown>) => void cursors.push(f) } as unknown as SharedChannelStore,
    syncMetrics(),
  );
  return { stream, sent, cursors };
}

describe('ChannelDetailsStream', () => {
  it('on the home, sends the details with their version and who changed them, then moves the cursor', async () => {
    const { stream, sent, cursors } = streamWith(async () => ({ status: 'OK', err: '', payload: { status: 'applied' } }));
    const ctx = passContext({ share: homeShare, scr: scr({ last_details_update_at: 400 }) });
    const c = await stream.collect(ctx);
    await stream.advance(ctx, c, await stream.send(ctx, c));
    expect(sent).toEqual([
      {
        topic: 'mmfed_channel_details',
        payload: { kind: 'update', channel_id: CHANNEL, display_name: 'Town', header: 'H', purpose: 'P', update_at: 500, user_id: ACTOR, username: 'alice' },
      },
    ]);
    expect(cursors).toEqual([{ last_details_update_at: 500 }]);
  });

  it('sends nothing when the remote has this version, or on a server that is not the home', async () => {
    const { stream, sent } = streamWith(async () => ({ status: 'OK', err: '', payload: { status: 'applied' } }));
    expect(await stream.collect(passContext({ share: homeShare, scr: scr({ last_details_update_at: 500 }) }))).toBeNull();
    expect(await stream.collect(passContext({ share: { ...homeShare, home: false }, scr: scr() }))).toBeNull();
    expect(await stream.collect(passContext({ share: null }))).toBeNull();
    expect(sent).toEqual([]);
  });

  it('passes a Mattermost peer over: not sent when known, and an OK without payload (unknown topic) counts the same', async () => {
    const known = streamWith(async () => ({ status: 'OK', err: '', payload: null }));
    const ctx = passContext({ share: homeShare, peer: 'mattermost' });
    const c = await known.stream.collect(ctx);
    await known.stream.advance(ctx, c, await known.stream.send(ctx, c));
    expect(known.sent).toEqual([]);
    expect(known.cursors).toEqual([{ last_details_update_at: 500 }]);

    const unknown = streamWith(async () => ({ status: 'OK', err: '', payload: null }));
    const ctx2 = passContext({ share: homeShare, peer: 'unknown' });
    const c2 = await unknown.stream.collect(ctx2);
    await unknown.stream.advance(ctx2, c2, await unknown.stream.send(ctx2, c2));
    expect(unknown.sent).toHaveLength(1);
    expect(unknown.cursors).toEqual([{ last_details_update_at: 500 }]);
  });

  it('a FAIL or an unreachable remote fails the pass (retried); a permanent refusal ends it; the cursor stays', async () => {
    const ctx = passContext({ share: homeShare });
    const fail = streamWith(async () => ({ status: 'FAIL', err: 'internal error', payload: null }));
    await expect(fail.stream.send(ctx, await fail.stream.collect(ctx))).rejects.toBeInstanceOf(SyncSendError);
    const down = streamWith(async () => {
      throw new RemoteClusterTransportError(REMOTE, 'network', 'connect ECONNREFUSED', undefined, 'ECONNREFUSED');
    });
    await expect(down.stream.send(ctx, await down.stream.collect(ctx))).rejects.toBeInstanceOf(SyncSendError);
    const refused = streamWith(async () => {
      throw new RemoteClusterTransportError(REMOTE, 'http_status', '/msg answered 401', 401);
    });
    await expect(refused.stream.send(ctx, await refused.stream.collect(ctx))).rejects.toBeInstanceOf(PeerRefusedError);
    expect([...fail.cursors, ...down.cursors, ...refused.cursors]).toEqual([]);
  });
});
