import { randomBytes } from 'node:crypto';

/** Mattermost's id alphabet: base32 with this custom ordering (model.NewId). */
const ALPHABET = 'ybndrfg8ejkmcpqxot1uwisza345h769';

export function encodeBase32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** A new 26-character Mattermost id from 16 random bytes. */
export function newId(): string {
  return encodeBase32(randomBytes(16)).slice(0, 26);
}

const ID_RE = /^[a-z0-9]{26}$/;

/** model.IsValidId: 26 characters, letters and digits only (Mattermost ids are lowercase). */
export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && ID_RE.test(value);
}
