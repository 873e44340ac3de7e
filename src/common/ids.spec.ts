import { encodeBase32, isValidId, newId } from './ids.js';

describe('Mattermost ids', () => {
  it('are 26 characters of the Mattermost alphabet and unique', () => {
    const ids = new Set(Array.from({ length: 2000 }, newId));
    expect(ids.size).toBe(2000);
    for (const id of ids) expect(id).toMatch(/^[ybndrfg8ejkmcpqxot1uwisza345h769]{26}$/);
  });

  it('encode like Go base32 with the custom alphabet', () => {
    // 16 zero bytes encode to the alphabet's first letter; 0xff bytes to its last.
    expect(encodeBase32(new Uint8Array(16)).slice(0, 26)).toBe('y'.repeat(26));
    expect(encodeBase32(new Uint8Array(16).fill(0xff)).slice(0, 25)).toBe('9'.repeat(25));
  });

  it('validate as model.IsValidId does', () => {
    expect(isValidId(newId())).toBe(true);
    expect(isValidId('tewhd6bhj9buofu8fbiqnbfixg')).toBe(true);
    expect(isValidId('short')).toBe(false);
    expect(isValidId('tewhd6bhj9buofu8fbiqnbfix!')).toBe(false);
    expect(isValidId('TEWHD6BHJ9BUOFU8FBIQNBFIXG')).toBe(false);
    expect(isValidId(42)).toBe(false);
  });
});
