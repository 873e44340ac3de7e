import { randomBytes } from 'node:crypto';
import { TokenSealer } from './token-sealer.js';

const REMOTE = 'tewhd6bhj9buofu8fbiqnbfixg';
const OTHER = 'gpgt4tobrxes9953tho4qxdaa5';
const TOKEN = 'mb3xd3mhpihqq69jkuudbnqhte';

describe('TokenSealer', () => {
  const sealer = new TokenSealer(randomBytes(32));

  it('seals with a fresh nonce each time, and opens what it sealed', () => {
    const a = sealer.seal(TOKEN, REMOTE, 'remote_token');
    const b = sealer.seal(TOKEN, REMOTE, 'remote_token');
    expect(a).toMatch(/^enc1:[\w-]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain(TOKEN);
    expect(sealer.open(a, REMOTE, 'remote_token')).toBe(TOKEN);
    // The longest token a peer may give us still fits the 512-character column.
    expect(sealer.seal('t'.repeat(128), REMOTE, 'remote_token').length).toBeLessThanOrEqual(512);
  });

  it('binds a sealed value to its row and column, and refuses another key or a change', () => {
    const sealed = sealer.seal(TOKEN, REMOTE, 'remote_token');
    expect(() => sealer.open(sealed, OTHER, 'remote_token')).toThrow();
    expect(() => sealer.open(sealed, REMOTE, 'pending_token')).toThrow();
    expect(() => new TokenSealer(randomBytes(32)).open(sealed, REMOTE, 'remote_token')).toThrow();
    expect(() => sealer.open(`${sealed.slice(0, -2)}AA`, REMOTE, 'remote_token')).toThrow();
    expect(() => new TokenSealer().open(sealed, REMOTE, 'remote_token')).toThrow(/REMOTE_TOKEN_KEY is not set/);
  });

  it('leaves values in clear without a key, and reads values stored in clear with one', () => {
    expect(new TokenSealer().seal(TOKEN, REMOTE, 'remote_token')).toBe(TOKEN);
    expect(sealer.open(TOKEN, REMOTE, 'remote_token')).toBe(TOKEN);
    expect(sealer.seal('', REMOTE, 'pending_token')).toBe('');
  });
});
