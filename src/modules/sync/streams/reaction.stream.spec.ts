import type { ChannelFeed, PostRecord } from '../../chat/feed/channel-feed.service.js';
import type { SharedChannelRemoteRecord, SharedChannelStore } from '../../shared-channel/shared-channel-store.service.js';
import { emptySyncResponse, type SyncMsg } from '../../shared-channel/wire.types.js';
import { CHANNEL, FakePeer, FakeSyncRepository, passContext, post, REMOTE, scr, syncMetrics, transportFor } from '../../../../test/support/sync-fakes.js';
import { type ReactionItem, ReactionStream } from './reaction.stream.js';

function reaction(p: PostRecord, fields: Partial<ReactionItem> = {}): ReactionItem {
  const r = { user_id: 'u'.repeat(26), post_id: p.id, emoji_name: 'smile', create_at: 1, update_at: 1, delete_at: 0, remote_id: null, channel_id: CHANNEL, seq: 10, ...fields };
  return { ...r, key: `${r.user_id}:${r.post_id}:${r.emoji_name}` };
}

/** `fresh`: the (channel, remote) row as a re-read finds it (a backfill moving on); each re-read takes the next one. */
function setup(posts: PostRecord[], reactions: ReactionItem[], peer = new FakePeer(), fresh: SharedChannelRemoteRecord[] = []) {
  const byId = new Map(posts.map((p) => [p.id, p]));
  const cursors: Array<Record<string, unknown>> = [];
  const feed = {
    reactionsAfter: async (_c: string, after: { seq: number }) => reactions.filter((r) => r.seq > after.seq).sort((a, b) => a.seq - b.seq),
    reactionsByKeys: async (_c: string, keys: string[]) => reactions.filter((r) => keys.includes(r.key)),
    postsByIds: async (ids: string[]) => ids.flatMap((i) => (byId.has(i) ? [byId.get(i)!] : [])),
  } as unknown as ChannelFeed;
  const reads = [...fresh];
  const shares = {
    saveCursors: async (_id: string, f: Record<string, unknown>) => void cursors.push(f),
    findRemote: async () => (reads.length > 1 ? reads.shift()! : (reads[0] ?? null)),
  } as unknown as SharedChannelStore;
  const repo = new FakeSyncRepository();
  return { stream: new ReactionStream(repo.asRepo(), transportFor(peer, undefined, undefined, repo), syncMetrics(), feed, shares), repo, cursors, peer };
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

  describe('on history posts (a backfill hands them over; each item goes exactly once, never before its post)', () => {
    // History: posts with seq <= first_post_seq (10). The walk began at channel seq 20 and has passed create_at 1000.
    const walking = scr({
      first_post_seq: 10,
      backfill_state: 'running',
      backfill_since: 0,
      backfill_cursor_at: 1000,
      backfill_cursor_id: 'z'.repeat(26),
      backfill_seq: 20,
    });
    const passed = post({ seq: 3, create_at: 900 });
    const ahead = post({ seq: 4, create_at: 2000 });

    it('sends what is on a post already handed over, leaves to the walk what it reads itself, holds the rest', async () => {
      const mine = reaction(passed, { seq: 15 });
      const afterStart = reaction(passed, { seq: 25, emoji_name: 'tada', key: `${'u'.repeat(26)}:${passed.id}:tada` });
      const early = reaction(ahead, { seq: 16 });
      const late = reaction(ahead, { seq: 26 });
      // The pass opened before the walk began: the row is read again after the scan.
      const { stream, repo, peer } = setup([passed, ahead], [mine, afterStart, early, late], new FakePeer(), [walking]);
      const ctx = passContext({ scr: scr({ first_post_seq: 10 }) });
      const c = await stream.collect(ctx, { postCursorSeq: 30 });
      expect(c.toSend).toEqual([afterStart]);
      expect(c.historyHeld).toEqual([late]);
      await stream.advance(ctx, c, await stream.send(ctx, c));
      expect(peer.messages.map((m: SyncMsg) => (m.reactions ?? []).map((r) => r.emoji_name))).toEqual([['tada']]);
      expect(repo.recorded).toMatchObject([{ item_key: late.key, waiting_for: ahead.id, attempt: false }]);
      expect(repo.released).toEqual([]);
    });

    it('releases at once what it held for a post the walk passed while it was recording the hold', async () => {
      const late = reaction(ahead, { seq: 26 });
      const moved = { ...walking, backfill_cursor_at: 5000 };
      const { stream, repo } = setup([ahead], [late], new FakePeer(), [walking, moved]);
      const ctx = passContext({ scr: walking });
      const c = await stream.collect(ctx, { postCursorSeq: 30 });
      expect(c.historyHeld).toEqual([late]);
      await stream.advance(ctx, c, await stream.send(ctx, c));
      expect(repo.released).toEqual([ahead.id]);
      expect(ctx.again).toBe(true);
    });

    it('a retried item is owed whatever its stamp; outside the history asked for nothing goes', async () => {
      const old = post({ seq: 2, create_at: 10 });
      const retried = reaction(passed, { seq: 5 });
      const outside = reaction(old, { seq: 27 });
      const since = { ...walking, backfill_since: 500 };
      const { stream, repo, peer } = setup([passed, old], [retried, outside], new FakePeer(), [since]);
      repo.due.reaction = [{ item_key: retried.key }];
      const ctx = passContext({ scr: since });
      const c = await stream.collect(ctx, { postCursorSeq: 30 });
      await stream.advance(ctx, c, await stream.send(ctx, c));
      expect(peer.messages.map((m: SyncMsg) => (m.reactions ?? []).map((r) => r.post_id))).toEqual([[passed.id]]);
      expect(c.historyHeld).toEqual([]);
    });
  });
});
