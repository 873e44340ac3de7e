import { broadcast, EncodedEvent, type Memberships, shouldDeliver } from './websocket-event.js';

const alice = { userId: 'alice', connectionId: 'c-alice', isSystemAdmin: false };
const admin = { userId: 'root', connectionId: 'c-root', isSystemAdmin: true };
const members: Memberships = {
  inChannel: (channel, user) => channel === 'town' && user === 'alice',
  inTeam: (team, user) => team === 'eng' && user === 'alice',
};

describe('shouldDeliver (Mattermost WebConn.ShouldSendEvent)', () => {
  it('routes by connection, user, channel membership and team membership, in that order', () => {
    expect(shouldDeliver(alice, broadcast({ connection_id: 'c-alice', user_id: 'someone-else' }), members)).toBe(true);
    expect(shouldDeliver(alice, broadcast({ connection_id: 'c-other' }), members)).toBe(false);
    expect(shouldDeliver(alice, broadcast({ user_id: 'alice', channel_id: 'elsewhere' }), members)).toBe(true);
    expect(shouldDeliver(alice, broadcast({ user_id: 'bob' }), members)).toBe(false);
    expect(shouldDeliver(alice, broadcast({ channel_id: 'town' }), members)).toBe(true);
    expect(shouldDeliver(admin, broadcast({ channel_id: 'town' }), members)).toBe(false);
    expect(shouldDeliver(alice, broadcast({ channel_id: 'secret' }), members)).toBe(false);
    expect(shouldDeliver(alice, broadcast({ team_id: 'eng' }), members)).toBe(true);
    expect(shouldDeliver(alice, broadcast({ team_id: 'sales' }), members)).toBe(false);
    expect(shouldDeliver(alice, broadcast({}), members)).toBe(true);
  });

  it('omits users and connections', () => {
    expect(shouldDeliver(alice, broadcast({ channel_id: 'town', omit_users: { alice: true } }), members)).toBe(false);
    expect(shouldDeliver(alice, broadcast({ omit_connection_id: 'c-alice' }), members)).toBe(false);
    expect(shouldDeliver(alice, broadcast({ omit_connection_id: 'c-other' }), members)).toBe(true);
  });

  it('sends sensitive copies to system admins only, sanitized ones to everyone else, and a copy marked both to no one', () => {
    expect(shouldDeliver(admin, broadcast({ contains_sensitive_data: true }), members)).toBe(true);
    expect(shouldDeliver(alice, broadcast({ contains_sensitive_data: true }), members)).toBe(false);
    expect(shouldDeliver(alice, broadcast({ contains_sanitized_data: true }), members)).toBe(true);
    expect(shouldDeliver(admin, broadcast({ contains_sanitized_data: true }), members)).toBe(false);
    expect(shouldDeliver(admin, broadcast({ contains_sanitized_data: true, contains_sensitive_data: true }), members)).toBe(false);
  });
});

describe('EncodedEvent', () => {
  it("is Mattermost's event JSON with each connection's own sequence number", () => {
    const ev = new EncodedEvent({ event: 'typing', data: { parent_id: '', user_id: 'bob' }, broadcast: broadcast({ channel_id: 'town' }) });
    expect(JSON.parse(ev.frame(7, 'alice'))).toEqual({
      event: 'typing',
      data: { parent_id: '', user_id: 'bob' },
      broadcast: { omit_users: null, user_id: '', channel_id: 'town', team_id: '', connection_id: '', omit_connection_id: '' },
      seq: 7,
    });
  });

  it('tells each mentioned user about their own mention only', () => {
    const ev = new EncodedEvent({ event: 'posted', data: { post: '{}' }, broadcast: broadcast({ channel_id: 'town' }), mentions: ['alice', 'carol'] });
    expect(JSON.parse(ev.frame(1, 'alice')).data).toEqual({ post: '{}', mentions: '["alice"]' });
    expect(JSON.parse(ev.frame(1, 'carol')).data).toEqual({ post: '{}', mentions: '["carol"]' });
    expect(JSON.parse(ev.frame(1, 'bob')).data).toEqual({ post: '{}' });
  });
});
