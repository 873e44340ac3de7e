import { trimTrailing } from '../../common/strings.js';
import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes, scryptSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  decryptInvite,
  encryptInvite,
  INVITE_VERSION,
  InviteError,
  marshalInvite,
  PBKDF2_ITERATIONS,
  type InviteErrorReason,
  type RemoteClusterInvite,
} from './invite-crypto.js';

interface PositiveVector {
  name: string;
  password: string;
  password_utf8_hex: string;
  plaintext_invite: RemoteClusterInvite;
  plaintext_json_exact: string;
  kdf: 'pbkdf2-hmac-sha256' | 'scrypt';
  encrypted_invite_base64: string;
  salt_hex: string;
  nonce_hex: string;
  derived_key_hex: string;
  ciphertext_hex: string;
  tag_hex: string;
  decoded_length: number;
  go_decrypted_invite: RemoteClusterInvite;
}

interface NegativeVector {
  name: string;
  password: string;
  encrypted_invite_base64: string;
  go_stage: string;
}

const fixture = JSON.parse(readFileSync('test/fixtures/invite-vectors.json', 'utf8')) as {
  vectors: PositiveVector[];
  negative: NegativeVector[];
};

/**
 * Section 2.2 written out independently of the module under test, so a shared misunderstanding in
 * invite-crypto.ts cannot make both sides agree with each other but not with Mattermost.
 */
const reference = {
  decodeUrlBase64(code: string): Buffer {
    return Buffer.from(code.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  },
  key(kdf: 'pbkdf2' | 'scrypt', password: string, salt: Buffer): Buffer {
    const pw = Buffer.from(password, 'utf8');
    return kdf === 'pbkdf2'
      ? pbkdf2Sync(pw, salt, 600000, 32, 'sha256')
      : scryptSync(pw, salt, 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  },
  seal(kdf: 'pbkdf2' | 'scrypt', plaintext: string, password: string, salt: Buffer, nonce: Buffer): string {
    const cipher = createCipheriv('aes-256-gcm', reference.key(kdf, password, salt), nonce);
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([salt, nonce, ct, cipher.getAuthTag()])
      .toString('base64')
      .replace(/\+/g, '-')
      .replace(/\//g, '_');
  },
  open(code: string, password: string): string {
    const raw = reference.decodeUrlBase64(code);
    const salt = raw.subarray(0, 16);
    const nonce = raw.subarray(16, 28);
    const tag = raw.subarray(raw.length - 16);
    const decipher = createDecipheriv('aes-256-gcm', reference.key('pbkdf2', password, salt), nonce);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(raw.subarray(28, raw.length - 16)), decipher.final()]).toString('utf8');
  },
};

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

async function expectInviteError(promise: Promise<unknown>, reason?: InviteErrorReason): Promise<void> {
  const err = await rejectionOf(promise);
  expect(err).toBeInstanceOf(InviteError);
  if (reason) expect((err as InviteError).reason).toBe(reason);
}

/** Deterministic so a fuzz failure can be reproduced. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const v3 = fixture.vectors.find((v) => v.name === 'v3-production-shape')!;

describe('invite-crypto', () => {
  it('exports the version-3 parameters', () => {
    expect(INVITE_VERSION).toBe(3);
    expect(PBKDF2_ITERATIONS).toBe(600_000);
  });

  describe('Mattermost vectors', () => {
    it('has the vectors this suite relies on', () => {
      expect(fixture.vectors.length).toBeGreaterThanOrEqual(3);
      expect(fixture.negative.length).toBeGreaterThanOrEqual(4);
      expect(fixture.vectors.some((v) => v.kdf === 'scrypt')).toBe(true);
      expect(v3).toBeDefined();
    });

    it.each(fixture.vectors.map((v) => [v.name, v] as const))('decrypts %s', async (_name, vector) => {
      expect(Buffer.from(vector.password, 'utf8').toString('hex')).toBe(vector.password_utf8_hex);
      const invite = await decryptInvite(vector.encrypted_invite_base64, vector.password);
      expect(invite).toEqual(vector.plaintext_invite);
      expect(invite).toEqual(vector.go_decrypted_invite);
      expect(marshalInvite(invite)).toBe(vector.plaintext_json_exact);
      expect(marshalInvite(vector.plaintext_invite)).toBe(vector.plaintext_json_exact);
    });

    it.each(fixture.vectors.map((v) => [v.name, v] as const))(
      'reproduces %s byte for byte from marshalInvite + the section 2.2 layout',
      (_name, vector) => {
        const salt = Buffer.from(vector.salt_hex, 'hex');
        const nonce = Buffer.from(vector.nonce_hex, 'hex');
        const raw = reference.decodeUrlBase64(vector.encrypted_invite_base64);
        expect(raw.length).toBe(vector.decoded_length);
        expect(Buffer.concat([salt, nonce, Buffer.from(vector.ciphertext_hex, 'hex'), Buffer.from(vector.tag_hex, 'hex')])).toEqual(raw);

        const kdf = vector.kdf === 'scrypt' ? 'scrypt' : 'pbkdf2';
        expect(reference.key(kdf, vector.password, salt).toString('hex')).toBe(vector.derived_key_hex);
        const code = reference.seal(kdf, marshalInvite(vector.plaintext_invite), vector.password, salt, nonce);
        expect(code).toBe(vector.encrypted_invite_base64);
      },
    );

    it.each(fixture.negative.map((v) => [v.name, v] as const))('rejects %s with InviteError', async (_name, vector) => {
      const expected: InviteErrorReason = vector.go_stage.startsWith('base64') ? 'base64' : 'decrypt';
      await expectInviteError(decryptInvite(vector.encrypted_invite_base64, vector.password), expected);
    });

    it('accepts a code whose padding was lost or that was wrapped over lines, as pasted text often is', async () => {
      const vector = fixture.vectors.find((v) => v.encrypted_invite_base64.endsWith('='))!;
      const unpadded = trimTrailing(vector.encrypted_invite_base64, '=');
      const wrapped = `${unpadded.slice(0, 76)}\r\n${unpadded.slice(76)}`;
      const [a, b] = await Promise.all([decryptInvite(unpadded, vector.password), decryptInvite(wrapped, vector.password)]);
      expect(a).toEqual(vector.plaintext_invite);
      expect(b).toEqual(vector.plaintext_invite);
    });
  });

  describe('marshalInvite', () => {
    it('writes Go field order, omitempty and Go HTML escaping', () => {
      const invite: RemoteClusterInvite = {
        version: 3,
        token: 'ffuykmq7sfpy63a3xu5jrsdony',
        refreshed_token: '',
        site_url: 'https://a.example.com/x?a=1&b=<2>\u2028"\\\n\u0001é',
        remote_team_id: '',
        remote_id: '71e9ir5pnxr3scd8qhph3ery6y',
      };
      expect(marshalInvite(invite)).toBe(
        '{"remote_id":"71e9ir5pnxr3scd8qhph3ery6y","remote_team_id":"",' +
          '"site_url":"https://a.example.com/x?a=1\\u0026b=\\u003c2\\u003e\\u2028\\"\\\\\\n\\u0001é",' +
          '"token":"ffuykmq7sfpy63a3xu5jrsdony","version":3}',
      );
      expect(marshalInvite({ ...invite, version: 0, refreshed_token: 'r' })).toMatch(/"token":"ffuykmq7sfpy63a3xu5jrsdony","refreshed_token":"r"\}$/);
    });
  });

  describe('round trip', () => {
    const invite: RemoteClusterInvite = {
      remote_id: '71e9ir5pnxr3scd8qhph3ery6y',
      remote_team_id: '',
      site_url: 'https://mm-a.example.com/sub?x=1&y=<2>',
      token: 'ffuykmq7sfpy63a3xu5jrsdony',
      version: INVITE_VERSION,
    };
    const password = 'pässwörd 🔐';

    it('encrypts to a padded URL-safe code that decrypts to the same invite', async () => {
      const code = await encryptInvite(invite, password);
      expect(code).toMatch(/^[A-Za-z0-9_-]+={0,2}$/);
      expect(code.length % 4).toBe(0);
      expect(await decryptInvite(code, password)).toEqual(invite);
    });

    it('produces a code the independent section 2.2 implementation opens to the exact Go bytes', async () => {
      const code = await encryptInvite(invite, password);
      expect(reference.open(code, password)).toBe(
        '{"remote_id":"71e9ir5pnxr3scd8qhph3ery6y","remote_team_id":"",' +
          '"site_url":"https://mm-a.example.com/sub?x=1\\u0026y=\\u003c2\\u003e",' +
          '"token":"ffuykmq7sfpy63a3xu5jrsdony","version":3}',
      );
      const raw = reference.decodeUrlBase64(code);
      expect(raw.length).toBe(16 + 12 + Buffer.byteLength(marshalInvite(invite)) + 16);
    });

    it('uses a fresh salt and nonce every time', async () => {
      const [a, b] = await Promise.all([encryptInvite(invite, password), encryptInvite(invite, password)]);
      expect(a).not.toBe(b);
      expect(reference.decodeUrlBase64(a).subarray(0, 28)).not.toEqual(reference.decodeUrlBase64(b).subarray(0, 28));
    });

    it('rejects the wrong password', async () => {
      const code = await encryptInvite(invite, password);
      await expectInviteError(decryptInvite(code, 'pässwörd 🔑'), 'decrypt');
      await expectInviteError(decryptInvite(code, ''), 'decrypt');
    });

    it('opens a version-2 style (scrypt) code via the fallback', async () => {
      const legacy = '{"remote_id":"dsj4m6r7bto88xwasfhjkjw763","remote_team_id":"","site_url":"https://old.example.com","token":"xyedogdh1dg7iutjfcgpefby6w","version":2}';
      const code = reference.seal('scrypt', legacy, 'hunter2', randomBytes(16), randomBytes(12));
      expect(await decryptInvite(code, 'hunter2')).toEqual({
        remote_id: 'dsj4m6r7bto88xwasfhjkjw763',
        remote_team_id: '',
        site_url: 'https://old.example.com',
        token: 'xyedogdh1dg7iutjfcgpefby6w',
        version: 2,
      });
    });

    it('rejects authentic plaintexts that are not a valid invite', async () => {
      const bad = [
        'not json',
        '[]',
        'null',
        '{"remote_id":"short","site_url":"https://x","token":"t"}',
        '{"remote_id":"71e9ir5pnxr3scd8qhph3ery6y","site_url":"https://x","token":""}',
        '{"remote_id":"71e9ir5pnxr3scd8qhph3ery6y","site_url":"","token":"t"}',
        '{"remote_id":"71e9ir5pnxr3scd8qhph3ery6y","site_url":"https://x","token":"t","version":"3"}',
        '{"remote_id":"71e9ir5pnxr3scd8qhph3ery6y","site_url":"https://x","token":"t","version":3.5}',
        '{"remote_id":"71e9ir5pnxr3scd8qhph3ery6y","site_url":7,"token":"t"}',
      ];
      const salt = randomBytes(16);
      const nonce = randomBytes(12);
      // One derivation shared by all cases; PBKDF2 succeeds, so none of these reach the scrypt fallback.
      const key = reference.key('pbkdf2', 'pw', salt);
      await Promise.all(
        bad.map(async (plaintext) => {
          const cipher = createCipheriv('aes-256-gcm', key, nonce);
          const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
          const code = Buffer.concat([salt, nonce, ct, cipher.getAuthTag()]).toString('base64url');
          await expectInviteError(decryptInvite(code, 'pw'), 'decrypt');
        }),
      );
    });
  });

  describe('robustness', () => {
    it('rejects ~200 garbage strings with InviteError, never anything else', async () => {
      const rand = mulberry32(0x1d2c3b4a);
      const pick = (chars: string): string => chars[Math.floor(rand() * chars.length)];
      const cases: Array<[string, InviteErrorReason]> = [
        ['', 'decrypt'],
        ['=', 'base64'],
        ['==', 'base64'],
        ['====', 'base64'],
        ['A', 'base64'],
        ['AA=', 'base64'],
        ['AAA==', 'base64'],
        ['AA=A', 'base64'],
        ['AAAA====', 'base64'],
        [' ', 'base64'],
        ['\t', 'base64'],
        ['\0', 'base64'],
        ['🔐🔐🔐🔐', 'base64'],
        ['\ud800', 'base64'],
        ['A'.repeat(20 * 1024), 'base64'],
        ['A'.repeat(16 * 1024 + 4), 'base64'],
        [`${v3.encrypted_invite_base64} `, 'base64'],
        [`${v3.encrypted_invite_base64}=`, 'base64'],
        [v3.encrypted_invite_base64.replace(/-/g, '+'), 'base64'],
      ];
      // Characters outside the URL-safe alphabet, anywhere in the string: fail at decoding.
      const junk = '+/.,;:!?*#%$ \t\u00e9\u4e2d\u{1f510}\u0000\u007f"\'\\<>{}[]';
      while (cases.length < 150) {
        const len = 1 + Math.floor(rand() * 400);
        let s = '';
        for (let i = 0; i < len; i++) s += rand() < 0.8 ? pick(URL_ALPHABET) : pick(junk);
        if (/^[A-Za-z0-9_-]*$/.test(s)) s += pick('+/.!');
        cases.push([s, 'base64']);
      }
      // Well-formed base64url too short to hold salt+nonce+tag: fail before any key derivation.
      while (cases.length < 200) {
        let len = Math.floor(rand() * 59); // < 44 bytes decoded
        if (len % 4 === 1) len += 1;
        let s = '';
        for (let i = 0; i < len; i++) s += pick(URL_ALPHABET);
        cases.push([s, 'decrypt']);
      }

      for (const [input, reason] of cases) {
        const err = await rejectionOf(decryptInvite(input, 'Ultra secret password!'));
        if (!(err instanceof InviteError) || err.reason !== reason) {
          throw new Error(`input ${JSON.stringify(input.slice(0, 80))}: expected InviteError(${reason}), got ${String(err)}`);
        }
      }
    });

    it('rejects non-string arguments from untyped callers with InviteError', async () => {
      await expectInviteError(decryptInvite(undefined as unknown as string, 'pw'), 'base64');
      await expectInviteError(decryptInvite({} as unknown as string, 'pw'), 'base64');
      await expectInviteError(decryptInvite(v3.encrypted_invite_base64, null as unknown as string), 'decrypt');
    });

    it('rejects truncated and bit-flipped real codes', async () => {
      const raw = reference.decodeUrlBase64(v3.encrypted_invite_base64);
      const encode = (b: Buffer): string => b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
      const flipped = (index: number, bit: number): Buffer => {
        const copy = Buffer.from(raw);
        copy[index] ^= 1 << bit;
        return copy;
      };
      const fast = [0, 1, 16, 17, 27, 28, 43].map((n) => encode(raw.subarray(0, n)));
      const slow = [
        encode(raw.subarray(0, 44)),
        encode(raw.subarray(0, raw.length - 17)),
        encode(raw.subarray(1)),
        encode(flipped(3, 0)), // salt
        encode(flipped(20, 7)), // nonce
        encode(flipped(60, 3)), // ciphertext
        encode(flipped(raw.length - 1, 5)), // tag
        v3.encrypted_invite_base64.slice(0, 200), // string truncation, still decodable
      ];
      for (const code of fast) await expectInviteError(decryptInvite(code, v3.password), 'decrypt');
      // Each of these pays for both PBKDF2 and scrypt, so let the threadpool run them side by side.
      await Promise.all(slow.map((code) => expectInviteError(decryptInvite(code, v3.password), 'decrypt')));
      // Truncating the text at every length: whatever the outcome, it is an InviteError or the original invite.
      for (let n = 0; n < 40; n++) {
        const err = await rejectionOf(decryptInvite(v3.encrypted_invite_base64.slice(0, n), v3.password));
        expect(err).toBeInstanceOf(InviteError);
      }
    });
  });

  it('derives keys off the event loop', async () => {
    let ticks = 0;
    const timer = setInterval(() => {
      ticks += 1;
    }, 5);
    try {
      // Wrong password: PBKDF2 and then scrypt both run, a few hundred milliseconds in total.
      await expectInviteError(decryptInvite(v3.encrypted_invite_base64, 'not the password'), 'decrypt');
    } finally {
      clearInterval(timer);
    }
    // A synchronous derivation would leave the timer at 0 or 1.
    expect(ticks).toBeGreaterThan(5);
  });
});
