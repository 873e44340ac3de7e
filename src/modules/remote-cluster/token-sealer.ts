import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const PREFIX = 'enc1:';

/**
 * The tokens we must be able to send (remote_token, and pending_token during a rotation) cannot be hashed; with
 * REMOTE_TOKEN_KEY set they are sealed at rest with AES-256-GCM, bound to their row and column (AAD), so a copy of
 * the database without the key does not let anyone call a peer as us. Without a key they are stored in clear, and
 * sealed values left from a configured key make the server refuse to start (see RemoteClusterTokens).
 */
export class TokenSealer {
  constructor(private readonly key?: Buffer) {}

  get enabled(): boolean {
    return this.key !== undefined;
  }

  static isSealed(stored: string): boolean {
    return stored.startsWith(PREFIX);
  }

  /** `plain` as it should be stored for (remoteId, column): sealed with a key, unchanged without one. */
  seal(plain: string, remoteId: string, column: string): string {
    if (!this.key || plain === '') return plain;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(`${remoteId}:${column}`, 'utf8'));
    const sealed = Buffer.concat([iv, cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return PREFIX + sealed.toString('base64url');
  }

  /** The token behind a stored value; throws when it is sealed and cannot be opened (no key, another key, tampered). */
  open(stored: string, remoteId: string, column: string): string {
    if (!TokenSealer.isSealed(stored)) return stored;
    if (!this.key) throw new Error(`the ${column} of remote ${remoteId} is sealed, and REMOTE_TOKEN_KEY is not set`);
    const raw = Buffer.from(stored.slice(PREFIX.length), 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(`${remoteId}:${column}`, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
  }
}
