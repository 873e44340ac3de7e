import fc from 'fast-check';

/**
 * Generators of hostile input for the fuzz suite: what a careless or malicious client or peer sends. Most values
 * are nearly right (the right field names, ids of things that exist) so that requests get past the first check and
 * reach deeper code; the rest is garbage.
 */

/** A marker in every path-like filename, so the suite can look for files written where they should not be. */
export const ESCAPE_MARKER = 'fzesc';

export const idArb = (known: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: known.length ? fc.constantFrom(...known) : fc.constant('zzzzzzzzzzzzzzzzzzzzzzzzzz') },
    { weight: 2, arbitrary: fc.stringMatching(/^[a-z0-9]{26}$/) },
    { weight: 1, arbitrary: fc.constantFrom('', 'me', '..', '%2e%2e', '%2F', '%00', 'a'.repeat(27), 'A'.repeat(26), '😀'.repeat(13), '__proto__') },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  );

/** Strings from the awkward corners: control characters, NULs, lone surrogates, huge runs, link- and mention-shaped. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.constantFrom('', ' ', '\u0000', 'nul\u0000in', '\ud800', '../../etc/passwd', '%00', '__proto__', 'constructor', '{}', '[]', 'null', 'true', '1e309') },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('x', '@a', '.', 'http://a/', 'a-', '#tag ', '😀', '\\'), fc.integer({ min: 100, max: 20_000 }))
      .map(([unit, n]) => unit.repeat(Math.ceil(n / unit.length))),
  },
  { weight: 1, arbitrary: fc.integer({ min: 16_000, max: 70_000 }).map((n) => 'y'.repeat(n)) },
);

export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, 0, -0, 2 ** 53, 2 ** 63, 1e308, -1e308, 1.5, Number.MAX_SAFE_INTEGER + 2, 8.64e15, 1e21),
);

export const hostileScalar: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  hostileNumber,
  fc.boolean(),
  fc.constant(null),
);

/** Any JSON, with hostile scalars and dangerous keys. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileScalar,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'prototype', 'id', 'props')), tie('value'), {
      maxKeys: 5,
    }),
  ),
})).value;

/** Arrays or objects nested `depth` deep: past the server's JSON depth cap (64) as often as below it. */
export const deepJson: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 1, max: 5_000 }), fc.boolean())
  .map(([depth, arrays]) => (arrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`));

/** A value for a field called `key`: usually of the kind the field expects, sometimes anything. */
function fieldValue(key: string, ids: string[]): fc.Arbitrary<unknown> {
  const kind = key.endsWith('_ids') || key === 'usernames' || key === 'participants' ? 'ids'
    : key === 'id' || key.endsWith('_id') ? 'id'
      : ['props', 'timezone', 'notify_props', 'metadata', 'payload'].includes(key) ? 'map'
        : ['is_pinned', 'read_only', 'readonly', 'home', 'manual', 'is_add'].includes(key) ? 'bool'
          : key.endsWith('_at') || ['page', 'per_page', 'since', 'dnd_end_time', 'file_size', 'file_offset'].includes(key) ? 'number'
            : 'string';
  const typed: fc.Arbitrary<unknown> =
    kind === 'ids' ? fc.array(idArb(ids), { maxLength: 12 })
      : kind === 'id' ? idArb(ids)
        : kind === 'map' ? fc.oneof(fc.dictionary(fc.string({ maxLength: 10 }), hostileString, { maxKeys: 6 }), hostileJson)
          : kind === 'bool' ? fc.boolean()
            : kind === 'number' ? hostileNumber
              : hostileString;
  return fc.oneof({ weight: 4, arbitrary: typed }, { weight: 1, arbitrary: hostileJson });
}

/** Field names of every DTO and wire struct the server reads. */
export const FIELD_VOCABULARY = [
  'id', 'channel_id', 'message', 'root_id', 'file_ids', 'props', 'pending_post_id', 'is_pinned', 'user_id', 'post_id', 'emoji_name',
  'username', 'email', 'password', 'nickname', 'first_name', 'last_name', 'position', 'locale', 'timezone', 'login_id', 'device_id',
  'name', 'display_name', 'type', 'team_id', 'purpose', 'header', 'status', 'dnd_end_time', 'default_team_id', 'invite', 'remote_id',
  'description', 'token_id', 'page', 'per_page', 'since', 'before', 'after', 'read_only', 'readonly', 'create_at', 'update_at',
  'delete_at', 'edit_at', 'hashtags', 'original_id', 'creator_id', 'share_name', 'share_display_name', 'share_purpose', 'share_header',
  'home', 'plugin_id', 'topics', 'usernames', 'user_ids', 'acknowledged_at', 'last_activity_at', 'manual', 'is_add', 'change_time',
];

/** A JSON object of known field names (a few, any subset) with mostly fitting values, and unknown fields now and then. */
export function vocabularyObject(ids: string[], vocabulary = FIELD_VOCABULARY, maxKeys = 8): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(
      fc.uniqueArray(fc.constantFrom(...vocabulary), { maxLength: maxKeys }).chain((keys) => fc.tuple(...keys.map((k) => fieldValue(k, ids).map((v) => [k, v] as const)))),
      fc.dictionary(fc.string({ maxLength: 10 }), hostileJson, { maxKeys: 2 }),
    )
    .map(([known, unknown]) => ({ ...unknown, ...Object.fromEntries(known) }));
}

/** A request body: mostly a JSON object of known fields; also arrays, scalars, deep nesting, bytes that are no JSON. */
export function jsonBody(ids: string[]): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 8, arbitrary: vocabularyObject(ids).map((o) => Buffer.from(JSON.stringify(o))) },
    { weight: 2, arbitrary: fc.array(idArb(ids), { maxLength: 20 }).map((a) => Buffer.from(JSON.stringify(a))) },
    { weight: 2, arbitrary: hostileJson.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
    { weight: 1, arbitrary: deepJson.map((s) => Buffer.from(s)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
    { weight: 1, arbitrary: fc.constantFrom('', '{', '{"a":', '[1,2', 'nul', '\u0000', '{"a":1}garbage', '"\\ud800"').map((s) => Buffer.from(s)) },
  );
}

/** Path-like and otherwise awkward upload names, each carrying ESCAPE_MARKER. */
export const hostileFilename: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('', '../', '../../', '../../../../tmp/', '/', '/tmp/', '..\\..\\', 'C:\\Windows\\', './', '%2e%2e%2f', 'a/b/', '\u0000', ' '),
    fc.oneof(fc.constant(''), fc.string({ maxLength: 20 }), fc.integer({ min: 250, max: 2_000 }).map((n) => 'n'.repeat(n))),
    fc.constantFrom('', '.png', '.txt', '.', '..', '/'),
  )
  .map(([prefix, middle, suffix]) => `${prefix}${ESCAPE_MARKER}${middle.replace(/["\r\n]/g, '')}${suffix}`);

export interface MultipartCase {
  contentType: string;
  body: Buffer;
}

/**
 * multipart/form-data bodies: well formed, cut off at any byte, without a boundary, with thousands of parts, with
 * path-like filenames and odd part headers.
 */
export function multipartBody(fileField: string, fields: Record<string, string>): fc.Arbitrary<MultipartCase> {
  const part = fc.oneof(
    { weight: 3, arbitrary: fc.record({ name: fc.constant(fileField), filename: hostileFilename, size: fc.integer({ min: 0, max: 70_000 }) }) },
    { weight: 1, arbitrary: fc.record({ name: fc.string({ maxLength: 300 }), filename: fc.option(hostileFilename, { nil: undefined }), size: fc.integer({ min: 0, max: 100 }) }) },
  );
  return fc
    .record({
      boundary: fc.oneof({ weight: 5, arbitrary: fc.stringMatching(/^[A-Za-z0-9]{8,30}$/) }, { weight: 1, arbitrary: fc.constantFrom('', ' ', '"', 'a'.repeat(100)) }),
      declared: fc.oneof({ weight: 5, arbitrary: fc.constant('same') }, { weight: 1, arbitrary: fc.constantFrom('none', 'other', 'not-multipart') }),
      parts: fc.oneof({ weight: 6, arbitrary: fc.array(part, { maxLength: 4 }) }, { weight: 1, arbitrary: fc.integer({ min: 500, max: 3_000 }).map((n) => Array.from({ length: n }, () => ({ name: 'x', filename: undefined as string | undefined, size: 1 }))) }),
      withFields: fc.boolean(),
      cut: fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) }),
      closing: fc.boolean(),
      extraHeader: fc.option(fc.constantFrom('Content-Type: image/png', 'Content-Transfer-Encoding: base64', `X-Junk: ${'j'.repeat(5000)}`, 'Content-Disposition: attachment'), { nil: undefined }),
    })
    .map(({ boundary, declared, parts, withFields, cut, closing, extraHeader }) => {
      const chunks: Buffer[] = [];
      if (withFields) for (const [k, v] of Object.entries(fields)) chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
      for (const p of parts) {
        const filename = p.filename === undefined ? '' : `; filename="${p.filename}"`;
        const head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name.replace(/["\r\n]/g, '')}"${filename}\r\n${extraHeader ? `${extraHeader}\r\n` : ''}\r\n`;
        chunks.push(Buffer.from(head), Buffer.alloc(p.size, 0x89), Buffer.from('\r\n'));
      }
      if (closing) chunks.push(Buffer.from(`--${boundary}--\r\n`));
      const whole = Buffer.concat(chunks);
      const body = whole.subarray(0, Math.floor(whole.length * cut));
      const contentType =
        declared === 'same' ? `multipart/form-data; boundary=${boundary}`
          : declared === 'none' ? 'multipart/form-data'
            : declared === 'other' ? 'multipart/form-data; boundary=someotherboundary'
              : 'application/octet-stream';
      return { contentType, body };
    });
}

/** Query strings: known parameters with odd values, repeated keys, unknown keys. */
export const queryString: fc.Arbitrary<string> = fc
  .array(
    fc.tuple(
      fc.constantFrom('page', 'per_page', 'since', 'before', 'after', 'channel_id', 'exclude_offline', 'include_deleted', 'topic', 'in_channel', 'x', '__proto__', 'access_token'),
      fc.oneof(fc.constantFrom('-1', '0', '1e9', '99999999999999999999', 'NaN', 'true', '', '%00', '[]'), fc.string({ maxLength: 30 })),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}` : ''));
