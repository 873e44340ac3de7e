import { callWithDeadline } from '../../../test/support/deadline.js';
import { applyMentionTransforms, MENTION_CANDIDATES_PER_POST, MENTION_MAX_LENGTH, possibleMentions } from './mentions.js';

describe('mentions (protocol 9.2)', () => {
  it('lists every @mention with its trailing-punctuation variants, lower-cased, without @all/@channel/@here', () => {
    expect(possibleMentions('Hi @Alice. and @bob:site-b, cc @here @channel; mail x@y.z')).toEqual([['alice.', 'alice'], ['bob:site-b']]);
    expect(possibleMentions('@carol: look')).toEqual([['carol:', 'carol']]);
    expect(possibleMentions('no mentions')).toEqual([]);
  });

  it('receiver: plain mentions of remote users get the local name, suffixed ones of local users lose it', () => {
    const targets = new Map([
      ['u1', { localUsername: 'alice:site-a', isLocal: false }],
      ['u2', { localUsername: 'bob', isLocal: true }],
    ]);
    expect(applyMentionTransforms('@alice and @bob:site-b, not @alicea', { alice: 'u1', 'bob:site-b': 'u2' }, targets, 'site-a')).toBe(
      '@alice:site-a and @bob, not @alicea',
    );
    expect(applyMentionTransforms('hi @zed', { zed: 'unknown' }, targets, 'site-a')).toBe('hi @zed:site-a');
  });
});

describe('mentions on hostile text (issue 12)', () => {
  it('"@" followed by thousands of punctuation marks gives candidates a username could be, not thousands', () => {
    const lists = possibleMentions(`@a${'.'.repeat(5000)} and @${'_'.repeat(3000)}b`);
    expect(lists.length).toBe(1);
    expect(lists[0].length).toBe(MENTION_MAX_LENGTH);
    expect(lists[0][0]).toBe(`a${'.'.repeat(MENTION_MAX_LENGTH - 1)}`);
    expect(lists[0].at(-1)).toBe('a');
    // A name longer than any username is no candidate at all.
    expect(possibleMentions(`@${'x'.repeat(65)}`)).toEqual([]);
  });

  it('a post gives at most MENTION_CANDIDATES_PER_POST candidates, however many mentions it holds', () => {
    const message = Array.from({ length: 5000 }, (_, i) => `@user${i}.`).join(' ');
    expect(possibleMentions(message).flat().length).toBe(MENTION_CANDIDATES_PER_POST);
    expect(possibleMentions(message)[0]).toEqual(['user0.', 'user0']);
  });

  it('16k-character messages with a thousand transforms take one pass each', async () => {
    const transforms = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`u${i}`, 'x'.repeat(26)]));
    const messages = [`@${'.'.repeat(16_000)}`, '@u1 '.repeat(4000), `@${'a'.repeat(16_000)}`, `${'@'.repeat(16_000)}u1`];
    const result = await callWithDeadline<number>('test/support/text-transforms.ts', 'runMentionTransforms', [messages, transforms], 20_000);
    expect(result.finished).toBe(true);
  }, 30_000);

  it('a replacement is never matched again, whatever the order of the transforms', () => {
    const targets = new Map([
      ['u1', { localUsername: 'bob', isLocal: false }],
      ['u2', { localUsername: 'carol', isLocal: false }],
    ]);
    // alice becomes bob; the new "@bob" is not then turned into carol.
    expect(applyMentionTransforms('@alice @bob', { alice: 'u1', bob: 'u2' }, targets, 's')).toBe('@bob @carol');
    expect(applyMentionTransforms('@alice @bob', { bob: 'u2', alice: 'u1' }, targets, 's')).toBe('@bob @carol');
  });

  it('whole mentions only, any case, a sentence-ending "." kept, addresses and longer names untouched', () => {
    const targets = new Map([['u1', { localUsername: 'alice:site-a', isLocal: false }]]);
    const t = { alice: 'u1' };
    expect(applyMentionTransforms('@Alice. @alice.. @alice: @alicea x@alice (@alice) @@alice', t, targets, 's')).toBe(
      '@alice:site-a. @alice.. @alice: @alicea x@alice (@alice:site-a) @@alice:site-a',
    );
    // Keys that cannot be mentions are ignored.
    expect(applyMentionTransforms('@a b', { 'a b': 'u1', '': 'u1' }, targets, 's')).toBe('@a b');
  });
});
