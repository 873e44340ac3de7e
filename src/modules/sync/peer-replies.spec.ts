import { RemoteClusterTransportError } from '../remote-cluster/remote-cluster.client.js';
import { emptySyncResponse } from '../shared-channel/wire.types.js';
import { isTooLargeRefusal, isTooLargeText, nullPayloadMeansAccepted, refusedKeys, type SyncKind } from './peer-replies.js';

const R = 'r'.repeat(26);

describe('nullPayloadMeansAccepted', () => {
  const kinds: SyncKind[] = ['user', 'membership', 'post', 'reaction', 'acknowledgement', 'status'];

  it('never from a server of this project: it always answers a SyncResponse', () => {
    for (const kind of kinds) expect(nullPayloadMeansAccepted(kind, 'mmfed')).toBe(false);
  });

  it('from Mattermost (or a peer not identified yet) only where its receiver reports nothing per item', () => {
    for (const peer of ['mattermost', 'unknown'] as const) {
      expect(kinds.filter((k) => nullPayloadMeansAccepted(k, peer))).toEqual(['membership', 'reaction']);
    }
  });
});

describe('refusedKeys', () => {
  it('users: everyone not in users_syncd, whatever user_errors says', () => {
    const reply = { ...emptySyncResponse(), users_syncd: ['a'], user_errors: [] };
    expect([...refusedKeys('user', ['a', 'b'], reply)]).toEqual(['b']);
    expect([...refusedKeys('user', ['a'], { ...reply, users_syncd: null as unknown as string[] })]).toEqual(['a']);
  });

  it('posts, statuses: the ids listed that were in the message', () => {
    expect([...refusedKeys('post', ['p1', 'p2'], { ...emptySyncResponse(), post_errors: ['p2', 'other'] })]).toEqual(['p2']);
    expect([...refusedKeys('status', ['u1'], { ...emptySyncResponse(), status_errors: ['u1'] })]).toEqual(['u1']);
  });

  it('reactions and acknowledgements: by post id', () => {
    expect([...refusedKeys('reaction', ['p1', 'p1', 'p2'], { ...emptySyncResponse(), reaction_errors: ['p1'] })]).toEqual(['p1']);
    expect([...refusedKeys('acknowledgement', ['p3'], { ...emptySyncResponse(), acknowledgement_errors: ['p3'] })]).toEqual(['p3']);
  });

  it("memberships: user ids from our receiver; a Mattermost step's error text refuses the whole message", () => {
    expect([...refusedKeys('membership', ['u1', 'u2'], { ...emptySyncResponse(), membership_errors: ['u2'] })]).toEqual(['u2']);
    expect([...refusedKeys('membership', ['u1', 'u2'], { ...emptySyncResponse(), membership_errors: ['failed to sync membership'] })]).toEqual(['u1', 'u2']);
  });

  it('reads a reply with missing or null lists as "no errors"', () => {
    expect(refusedKeys('post', ['p1'], { posts_last_update_at: 0 } as never).size).toBe(0);
  });
});

describe('isTooLargeRefusal', () => {
  it('413, or an error text that says the body is too large', () => {
    expect(isTooLargeRefusal(new RemoteClusterTransportError(R, 'http_status', '/msg answered 413', 413))).toBe(true);
    expect(isTooLargeRefusal(new RemoteClusterTransportError(R, 'http_status', '/msg answered 400: api.context.request_body_too_large', 400))).toBe(true);
    expect(isTooLargeRefusal(new RemoteClusterTransportError(R, 'http_status', '/msg answered 400', 400))).toBe(false);
    expect(isTooLargeRefusal(new RemoteClusterTransportError(R, 'timeout', 'request entity too large?'))).toBe(false);
    expect(isTooLargeRefusal(new Error('413'))).toBe(false);
    expect(isTooLargeText('http: request body too large')).toBe(true);
    expect(isTooLargeText('channel not found')).toBe(false);
  });
});
