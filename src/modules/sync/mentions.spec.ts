import { applyMentionTransforms, possibleMentions } from './mentions.js';

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
