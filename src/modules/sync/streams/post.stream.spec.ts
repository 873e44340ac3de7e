import type { AppConfig } from '../../../config/app-config.js';
import type { UserDirectory } from '../../auth/user-directory.service.js';
import type { ChannelFeed, PostRecord } from '../../chat/feed/channel-feed.service.js';
import type { SharedChannelStore } from '../../shared-channel/shared-channel-store.service.js';
import { emptySyncResponse, type SyncMsg } from '../../shared-channel/wire.types.js';
import { FakePeer, FakeSyncRepository, limitedPeer, passContext, post, REMOTE, scr, syncMetrics, transportFor } from '../../../../test/support/sync-fakes.js';
import { goesTo, isSharedWith, PostStream, rootsFirst } from './post.stream.js';

function setup(stored: PostRecord[], answer = new FakePeer(), batchPosts = 100) {
  const byId = new Map(stored.map((p) => [p.id, p]));
  const log: string[] = [];
  const feed = {
    postsAfter: async (_c: string, after: { seq: number }, limit: number) =>
      stored.filter((p) => p.seq > after.seq).sort((a, b) => a.seq - b.seq).slice(0, limit),
    postsByIds: async (ids: string[]) => ids.flatMap((i) => (byId.has(i) ? [byId.get(i)!] : [])),
    channelMemberIds: async () => [],
    teamMemberIds: async () => [],
  } as unknown as ChannelFeed;
  const users = { findByUsernames: async () => [] } as unknown as UserDirectory;
  const shares = { saveCursors: async (_id: string, f: Record<string, unknown>) => void log.push(`cursor ${String(f.last_post_seq)}`) } as unknown as SharedChannelStore;
  const repo = new FakeSyncRepository();
  const recordRetries = repo.recordRetries.bind(repo);
  repo.recordRetries = async (items, where, opts) => {
    if (items.length) log.push('retries');
    return recordRetries(items, where, opts);
  };
  const config = { sync: { batchPosts } } as AppConfig;
  const stream = new PostStream(feed, users, shares, repo.asRepo(), transportFor(answer, undefined, undefined, repo), syncMetrics(), config);
  return { stream, repo, log, peer: answer };
}

describe('rootsFirst', () => {
  it('moves a root just before its first reply and keeps the rest in order', () => {
    const root = post({ seq: 12 });
    const a = post({ seq: 10 });
    const reply = post({ root_id: root.id, seq: 11 });
    expect(rootsFirst([a, reply, root]).map((p) => p.id)).toEqual([a.id, root.id, reply.id]);
    expect(rootsFirst([root, reply]).map((p) => p.id)).toEqual([root.id, reply.id]);
  });
});

describe('which posts a remote gets', () => {
  it('never its own, never local notices; reactions only on posts it holds or should hold', () => {
    expect(goesTo(post({ remote_id: REMOTE }), REMOTE)).toBe(false);
    expect(goesTo(post({ type: 'system_join_channel' }), REMOTE)).toBe(false);
    expect(goesTo(post({ remote_id: 'o'.repeat(26) }), REMOTE)).toBe(true);
    const pair = scr({ first_post_seq: 20 });
    expect(isSharedWith(post({ seq: 19 }), pair)).toBe(false); // history before the share
    expect(isSharedWith(post({ seq: 21 }), pair)).toBe(true);
    expect(isSharedWith(post({ seq: 1, remote_id: REMOTE }), pair)).toBe(true); // it sent it
  });
});

describe('PostStream', () => {
  it('collects the batch after the cursor, roots before replies, and holds a reply whose root the remote lacks', async () => {
    const heldRoot = post({ seq: 3 });
    const edited = post({ seq: 9 }); // a root edited after its reply: the later seq
    const replyToEdited = post({ seq: 8, root_id: edited.id });
    const replyToHeld = post({ seq: 7, root_id: heldRoot.id });
    const fromRemote = post({ seq: 6, remote_id: REMOTE });
    const notice = post({ seq: 10, type: 'system_join_channel' });
    const { stream, repo } = setup([heldRoot, replyToHeld, fromRemote, replyToEdited, edited, notice]);
    repo.held.post = new Set([heldRoot.id]);
    const c = await stream.collect(passContext());
    expect(c.posts.map((p) => p.id)).toEqual([edited.id, replyToEdited.id]);
    expect(c.waiting).toEqual([{ post: replyToHeld, root: heldRoot.id }]);
    expect(c.cursor.seq).toBe(10);
  });

  it('sends a root changed beyond the cursor before its reply, and a retried reply with its root', async () => {
    const root = post({ seq: 20 });
    const reply = post({ seq: 7, root_id: root.id });
    const oldRoot = post({ seq: 1 });
    const retried = post({ seq: 4, root_id: oldRoot.id });
    // A batch of one: the reply is read, its root (changed since, seq 20) is not.
    const { stream, repo } = setup([root, reply, oldRoot, retried], new FakePeer(), 1);
    repo.due.post = [{ item_key: retried.id }];
    const c = await stream.collect(passContext({ scr: scr({ last_post_seq: 5 }) }));
    expect(c.posts.map((p) => p.id)).toEqual([root.id, reply.id, oldRoot.id, retried.id]);
    expect(c.cursor.seq).toBe(7);
    expect(c.full).toBe(true);
  });

  it('a refused reply whose root was not in its message goes again right away with its root', async () => {
    const root = post({ seq: 1 });
    const reply = post({ seq: 7, root_id: root.id });
    let lostRoot = true;
    const peer = new FakePeer((msg: SyncMsg) => {
      const ids = (msg.posts ?? []).map((p) => p.id);
      if (ids.includes(root.id)) lostRoot = false;
      return { ...emptySyncResponse(), post_errors: lostRoot ? ids.filter((i) => i === reply.id) : [] };
    });
    const { stream, repo } = setup([root, reply], peer);
    const ctx = passContext();
    const c = await stream.collect(ctx);
    const o = await stream.send(ctx, c);
    expect(peer.messages.map((m) => (m.posts ?? []).map((p) => p.id))).toEqual([[reply.id], [root.id, reply.id]]);
    expect(o.refused).toEqual([]);
    expect(o.accepted.map((p) => p.id).sort()).toEqual([root.id, reply.id].sort());
    await stream.advance(ctx, c, o);
    expect(repo.recorded).toEqual([]);
  });

  it('records refusals, parks what is too large, makes replies of refused roots wait, then moves the cursor', async () => {
    const root = post({ seq: 6 });
    const reply = post({ seq: 7, root_id: root.id });
    const big = post({ seq: 8, message: 'x'.repeat(5000) });
    const fine = post({ seq: 9 });
    const peer = new FakePeer(limitedPeer(3000, (msg) => ({ ...emptySyncResponse(), post_errors: (msg.posts ?? []).map((p) => p.id).filter((i) => i === root.id || i === reply.id) })));
    const { stream, repo, log } = setup([root, reply, big, fine], peer);
    repo.releases = 2;
    const ctx = passContext();
    const c = await stream.collect(ctx);
    const o = await stream.send(ctx, c);
    await stream.advance(ctx, c, o);
    const rows = (k: string) => repo.recorded.filter((r) => r.item_key === k);
    expect(rows(root.id)).toMatchObject([{ kind: 'post', attempt: true, park: false, waiting_for: '' }]);
    expect(rows(reply.id)).toMatchObject([{ kind: 'post', attempt: false, waiting_for: root.id }]);
    expect(rows(big.id)).toMatchObject([{ kind: 'post', attempt: true, park: true }]);
    expect(repo.accepted).toEqual([{ kind: 'post', keys: [fine.id] }]);
    expect([...ctx.postsNotTaken].sort()).toEqual([root.id, reply.id, big.id].sort());
    // What waited for accepted posts is due: another pass at once. The cursor moved last.
    expect(ctx.again).toBe(true);
    expect(log[log.length - 1]).toBe('cursor 9');
    expect(ctx.sent.posts).toBe(1);
  });
});
