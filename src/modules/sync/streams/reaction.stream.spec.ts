import type { ChannelFeed, PostRecord } from '../../chat/feed/channel-feed.service.js';
import type { SharedChannelStore } from '../../shared-channel/shared-channel-store.service.js';
import { emptySyncResponse, type SyncMsg } from '../../shared-channel/wire.types.js';
import { CHANNEL, FakePeer, FakeSyncRepository, passContext, post, REMOTE, scr, syncMetrics, transportFor } from '../../../../test/support/sync-fakes.js';
import { type ReactionItem, ReactionStream } from './reaction.stream.js';

function reaction(p: PostRecord, fields: Partial<ReactionItem> = {}): ReactionItem {
  const r = { user_id: 'u'.repeat(26), post_id: p.id, emoji_name: 'smile', create_at: 1, update_at: 1, delete_at: 0, remote_id: null, channel_id: CHANNEL, seq: 10, ...fields };
  return { ...r, key: `${r.user_id}:${r.post_id}:${r.emoji_name}` };
}

function setup(posts: PostRecord[], reactions: ReactionItem[], peer = new FakePeer()) {
  const byId = new Map(posts.map((p) => [p.id, p]));
  const cursors: Array<Record<string, unknown>> = [];
  const feed = {
    reactionsAfter: async (_c: string, after: { seq: number }) => reactions.filter((r) => r.seq > after.seq).sort((a, b) => a.seq - b.seq),
    reactionsByKeys: async (_c: string, keys: string[]) => reactions.filter((r) => keys.includes(r.key)),
    postsByIds: async (ids: string[]) => ids.flatMap((i) => (byId.has(i) ? [byId.get(i)!] : [])),
  } as unknown as ChannelFeed;
  const shares = { saveCursors: async (_id: string, f: Record<string, unknown>) => void cursors.push(f) } as unknown as SharedChannelStore;
  const repo = new FakeSyncRepository();
  return { stream: new ReactionStream(repo.asRepo(), transportFor(peer), syncMetrics(), feed, shares), repo, cursors, peer };
}

describe('ReactionStream (and AcknowledgementStream: the same PostItemStream)', () => {
  it('goes only as far as the post cursor: a reaction on a post not sent yet waits for the next pass', async () => {
    const sent = post({ seq: 6 });
    const later = post({ seq: 30 });
    const a = reaction(sent, { seq: 7 });
    const b = reaction(later, { seq: 31 });
    const c2 = reaction(sent, { seq: 32, emoji_name: 'tada', key: `${'u'.repeat(26)}:${sent.id}:tada` });
    const { stream } = setup([sent, later], [a, b, c2]);
    const c = await stream.collect(passContext(), { postCursorSeq: 20 });
    expect(c.covered).toEqual([a]);
    expect(c.toSend).toEqual([a]);
  });

  it('skips what may not go there (its own, history posts, local notices) and holds what waits for its post', async () => {
    const history = post({ seq: 1 });
    const notice = post({ seq: 6, type: 'system_join_channel' });
    const held = post({ seq: 7 });
    const refusedNow = post({ seq: 8 });
    const fine = post({ seq: 9 });
    const items = [
      reaction(history, { seq: 10 }),
      reaction(notice, { seq: 11 }),
      reaction(fine, { seq: 12, remote_id: REMOTE, user_id: 'v'.repeat(26), key: `${'v'.repeat(26)}:${fine.id}:smile` }),
      reaction(held, { seq: 13 }),
      reaction(refusedNow, { seq: 14 }),
      reaction(fine, { seq: 15 }),
    ];
    const { stream, repo, peer, cursors } = setup([history, notice, held, refusedNow, fine], items);
    repo.held.post = new Set([held.id]);
    const ctx = passContext({ scr: scr({ first_post_seq: 2 }), postsNotTaken: new Set([refusedNow.id]) });
    const c = await stream.collect(ctx, { postCursorSeq: 20 });
    const o = await stream.send(ctx, c);
    await stream.advance(ctx, c, o);
    expect(peer.messages.map((m: SyncMsg) => (m.reactions ?? []).map((r) => r.post_id))).toEqual([[fine.id]]);
    expect(repo.recorded.map((r) => [r.post_id, r.waiting_for, r.attempt])).toEqual([
      [held.id, held.id, false],
      [refusedNow.id, refusedNow.id, false],
    ]);
    expect(cursors.at(-1)).toMatchObject({ last_reaction_seq: 15 });
    expect(ctx.sent.reactions).toBe(1);
  });

  it('a reaction held for a post the receiver took earlier in the same pass goes now', async () => {
    const p = post({ seq: 6 });
    const r = reaction(p, { seq: 7 });
    const { stream, repo, peer } = setup([p], [r]);
    repo.held.post = new Set([p.id]);
    const ctx = passContext();
    const c = await stream.collect(ctx, { postCursorSeq: 20 });
    expect(c.held).toEqual([r]);
    ctx.postsTaken.add(p.id);
    await stream.advance(ctx, c, await stream.send(ctx, c));
    expect(peer.messages).toHaveLength(1);
    expect(repo.recorded).toEqual([]);
    expect(repo.accepted).toEqual([{ kind: 'reaction', keys: [r.key] }]);
  });

  it('a reaction the receiver refuses brings its post again and waits for it', async () => {
    const p = post({ seq: 6 });
    const r = reaction(p, { seq: 7 });
    const { stream, repo } = setup([p], [r], new FakePeer(() => ({ ...emptySyncResponse(), reaction_errors: [p.id] })));
    const ctx = passContext();
    const c = await stream.collect(ctx, { postCursorSeq: 20 });
    await stream.advance(ctx, c, await stream.send(ctx, c));
    expect(repo.requested).toEqual([p.id]);
    expect(repo.recorded).toMatchObject([{ kind: 'reaction', item_key: r.key, waiting_for: p.id, attempt: true }]);
    expect(ctx.again).toBe(true);
  });

  it('sends due retries as they are now, and drops retries of what is gone', async () => {
    const p = post({ seq: 6 });
    const r = reaction(p, { seq: 3, delete_at: 5 });
    const { stream, repo, peer } = setup([p], [r]);
    repo.due.reaction = [{ item_key: r.key }, { item_key: 'gone:gone:gone' }];
    const ctx = passContext();
    const c = await stream.collect(ctx, { postCursorSeq: 20 });
    await stream.advance(ctx, c, await stream.send(ctx, c));
    expect(peer.messages[0].reactions).toMatchObject([{ post_id: p.id, delete_at: 5 }]);
    expect(repo.accepted).toEqual([{ kind: 'reaction', keys: [r.key, 'gone:gone:gone'] }]);
  });
});
