import { createHash, randomBytes } from 'node:crypto';
import { encodeBase32 } from '../../common/ids.js';

/** 26 characters of Mattermost's id alphabet from 160 random bits: looks like a Mattermost token, unguessable. */
export function newOpaqueToken(): string {
  return encodeBase32(randomBytes(20)).slice(0, 26);
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
