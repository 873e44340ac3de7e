import { summarizePayload, traceReason } from './delivery-trace.service.js';

describe('what the delivery trace keeps of an envelope', () => {
  it('counts the items of a sync message per kind and names its channel, and keeps nothing of their content', () => {
    const channel = 'c'.repeat(26);
    const summary = summarizePayload({
      id: 'm'.repeat(26),
      channel_id: channel,
      users: { a: { username: 'alice', email: 'alice@example.com' } },
      posts: [{ message: 'secret words' }, { message: 'more' }],
      reactions: [],
      mention_transforms: { alice: 'a' },
    });
    expect(summary).toEqual({ channel_id: channel, items: { users: 1, posts: 2, reactions: 0, mention_transforms: 1 } });
    expect(JSON.stringify(summary)).not.toContain('secret');
  });

  it('keeps nothing of a payload that is not a list of items (an invite confirmation and its tokens, a ping)', () => {
    expect(summarizePayload({ remote_id: 'r', site_url: 'https://b.example.com', token: 'tok-secret', refreshed_token: 'tok-2', version: 3 })).toEqual({
      items: {},
      channel_id: '',
    });
    expect(summarizePayload({ sent_at: 1, recv_at: 0 })).toEqual({ items: {}, channel_id: '' });
    expect(summarizePayload(null)).toEqual({ items: {}, channel_id: '' });
    expect(summarizePayload([1, 2])).toEqual({ items: {}, channel_id: '' });
    expect(summarizePayload({ channel_id: 'not an id' }).channel_id).toBe('');
  });

  it('scrubs credentials from a failure reason, keeps it printable and short', () => {
    expect(traceReason('401 from https://b.example.com/?access_token=abcdefghijklmnop&x=1')).not.toContain('abcdefghijklmnop');
    expect(traceReason('Authorization: Bearer abcdefghijklmnopqrstuvwxyz')).not.toContain('abcdefghijklmnopqrstuvwxyz');
    expect(traceReason('line one\nline\ttwo\u0000')).toBe('line one line two ');
    expect(traceReason('x'.repeat(1000))).toHaveLength(256);
    expect(traceReason(undefined)).toBe('');
  });
});
