import { mkdir, mkdtemp, readdir, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { newId } from '../../src/common/ids.js';
import { startChildInstance, type ChildInstance } from '../support/child-instance.js';
import { addToChannel, createChannel, createPost, createUser, type TestUser } from '../support/chat.js';
import { eventually } from '../support/eventually.js';
import { FAST_FEDERATION_ENV, memberOf } from '../support/federation.js';
import { http } from '../support/http.js';
import { startInstance, type Instance } from '../support/instance.js';
import { startPinger } from '../support/pinger.js';
import { adminWithTeam, connect, createRemote, storedRemote, type AdminSide } from '../support/remote-cluster.js';
import {
  ESCAPE_MARKER,
  FIELD_VOCABULARY,
  hostileJson,
  hostileNumber,
  hostileString,
  idArb,
  jsonBody,
  multipartBody,
  queryString,
  vocabularyObject,
} from './arbitraries.js';
import { type FuzzRequest, type FuzzResponse, send, sendRaw } from './raw-http.js';

/**
 * Hostile requests for every route family, against the built server in its own process (npm start's 256 MiB heap
 * cap), with a real peer connected and a channel shared with it: JSON of wrong types, nulls, huge strings, deep
 * nesting and unknown fields; compressed bodies; multipart cut off, without boundary, with thousands of parts or
 * path-like filenames; broken headers; odd ids and timestamps; server-to-server frames sent with the peer's valid
 * credentials. Every request must be answered, never with a 5xx; the process must stay up, a concurrent ping must be
 * answered throughout, and nothing may be written outside FILES_DIR.
 *
 * Bounded by count: FUZZ_RUNS runs per property (300 in `npm test`; `npm run test:fuzz` runs 3,000). The seed is
 * printed; FUZZ_SEED=<seed> replays a run (fast-check also prints the failing run's seed and path).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** A request not answered within this is a failure ("every request answered"). */
const ANSWER_DEADLINE_MS = 30_000;
const IDLE_TIMEOUT_MS = 1_500;
const MAX_FILE_SIZE = 64 * 1024;
const testTimeout = (runs: number) => 120_000 + runs * 300;

/** The server-to-server routes: they take the peer's credentials, not a session. */
const S2S = /^\/api\/v4\/remotecluster\/(?:ping|msg|confirm_invite|upload\/\{[a-z_]+\}|\{[a-z_]+\}\/image)$/;
const MULTIPART_ROUTES = ['/api/v4/files', '/api/v4/users/{user_id}/image', '/api/v4/remotecluster/upload/{upload_id}', '/api/v4/remotecluster/{user_id}/image'];
const TOPICS = ['sharedchannel_sync', 'sharedchannel_invite', 'sharedchannel_upload', 'sharedchannel_global_user_sync', 'sharedchannel_membership', 'sharedchannel_unshare', 'ping', 'invitation', '', 'no_such_topic'];

interface Operation {
  method: string;
  path: string;
}

describe('fuzz: hostile requests for every route family', () => {
  let sandbox: string;
  let filesDir: string;
  let a: ChildInstance;
  let b: Instance;
  let adminA: AdminSide;
  let adminB: AdminSide;
  let alice: TestUser;
  let carol: TestUser;
  let bob: TestUser;
  let remoteId: string;
  let peerToken: string;
  let sharedChannel: string;
  let uploadSessionId: string;
  /** A session only the stalled-body property writes to, large enough for all its partial bodies. */
  let stallSessionId: string;
  let operations: Operation[];
  /** Ids of things that exist on A, for path parameters and bodies (the connection and the shared channel apart). */
  let known: string[];
  let pinger: ReturnType<typeof startPinger>;
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    process.stdout.write(`fuzz: seed ${SEED}, ${RUNS} runs per property; replay with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} npm run test:fuzz\n`);
    // The server runs in a sandbox directory of its own: FILES_DIR is sandbox/files, and anything else appearing
    // in the sandbox was written outside FILES_DIR.
    sandbox = await realpath(await mkdtemp(join(tmpdir(), 'mmfed-fuzz-')));
    filesDir = join(sandbox, 'files');
    await mkdir(filesDir);
    [a, b] = await Promise.all([
      startChildInstance(
        'FZ',
        // Every feature on, global user sync included: a switched-off feature answers Mattermost's 501, and the
        // fuzz accepts no 5xx at all.
        {
          ...FAST_FEDERATION_ENV,
          ENABLE_GLOBAL_USER_SYNC: 'true',
          FILES_DIR: filesDir,
          HTTP_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
          MAX_FILE_SIZE: String(MAX_FILE_SIZE),
        },
        { cwd: sandbox },
      ),
      startInstance('FB', FAST_FEDERATION_ENV),
    ]);
    [adminA, adminB] = await Promise.all([adminWithTeam(a), adminWithTeam(b)]);
    remoteId = await connect(adminA, adminB);
    await eventually(async () => {
      for (const inst of [a, b]) {
        const [row] = await inst.query<{ last_ping_at: string }>('SELECT last_ping_at FROM remote_clusters WHERE remote_id = $1', [remoteId]);
        if (!row || Number(row.last_ping_at) < Date.now() - 1500) throw new Error('not online yet');
      }
    }, { timeoutMs: 20_000 });
    peerToken = (await storedRemote(b, remoteId)).remote_token as string;

    sharedChannel = await createChannel(a, adminA.token, adminA.teamId, 'fuzz-shared');
    const plainChannel = await createChannel(a, adminA.token, adminA.teamId, 'fuzz-plain');
    const invited = await http(a, 'POST', `/api/v4/remotecluster/${remoteId}/channels/${sharedChannel}/invite`, { token: adminA.token });
    expect(invited.status).toBe(200);
    await eventually(async () => expect(await b.query('SELECT 1 FROM shared_channels WHERE channel_id = $1', [sharedChannel])).toHaveLength(1), {
      timeoutMs: 20_000,
    });
    alice = await memberOf(adminA, 'fuzz-alice', sharedChannel);
    await addToChannel(a, adminA.token, plainChannel, alice.id);
    bob = await memberOf(adminB, 'fuzz-bob', sharedChannel);
    const bobPost = await createPost(b, bob.token, sharedChannel, 'bob was here');
    await eventually(async () => expect(await a.query('SELECT 1 FROM posts WHERE id = $1', [bobPost.id])).toHaveLength(1), { timeoutMs: 20_000 });
    const alicePost = await createPost(a, alice.token, sharedChannel, 'alice was here');
    carol = await createUser(a, adminA.token, 'fuzz-carol');
    const throwaway = await createRemote(adminA, 'fuzz-throwaway');
    // A real upload session from the peer, for the upload route.
    uploadSessionId = newId();
    const session = await frame('sharedchannel_upload', {
      id: uploadSessionId, type: 'attachment', create_at: Date.now(), user_id: bob.id, channel_id: sharedChannel,
      filename: 'real.bin', file_size: 1000, file_offset: 0, remote_id: remoteId, req_file_id: newId(),
    });
    expect(session.status).toBe(200);
    stallSessionId = newId();
    const stallSession = await frame('sharedchannel_upload', {
      id: stallSessionId, type: 'attachment', create_at: Date.now(), user_id: bob.id, channel_id: sharedChannel,
      filename: 'stalled.bin', file_size: MAX_FILE_SIZE, file_offset: 0, remote_id: remoteId, req_file_id: newId(),
    });
    expect(stallSession.body.status).toBe('OK');
    known = [adminA.teamId, plainChannel, alice.id, carol.id, bob.id, alicePost.id, bobPost.id, throwaway.remote_cluster.remote_id];

    const doc = await http<{ paths: Record<string, Record<string, unknown>> }>(a, 'GET', '/api/docs-json');
    operations = Object.entries(doc.body.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })));
    expect(operations.length).toBeGreaterThan(50);
    pinger = startPinger([a], { everyMs: 100 });
  }, 240_000);

  afterAll(async () => {
    // What the server logged at error level, and how it ended if it did: what a failure needs to be understood.
    const log = a?.output() ?? '';
    const errors = log.split('\n').filter((l) => !l.startsWith('{') || /"level":(?:50|60)/.test(l)).filter((l) => l.trim());
    if (errors.length) process.stdout.write(`fuzz: server errors (last 40 lines):\n${errors.slice(-40).join('\n').slice(-20_000)}\n`);
    await pinger?.stop();
    await Promise.all([a?.destroy(), b?.destroy()]);
    if (sandbox) await rm(sandbox, { recursive: true, force: true });
    const summary = [...statuses.entries()].sort(([x], [y]) => x - y).map(([s, n]) => `${s}: ${n}`).join(', ');
    process.stdout.write(`fuzz: answers by status: ${summary}\n`);
  });

  function frame(topic: string, payload: unknown, over: Record<string, unknown> = {}) {
    return http(a, 'POST', '/api/v4/remotecluster/msg', {
      headers: peerHeaders(),
      rawBody: JSON.stringify({ remote_id: remoteId, msg: { id: newId(), topic, create_at: Date.now(), payload }, ...over }),
    });
  }

  function peerHeaders(): Record<string, string> {
    return { 'X-RemoteCluster-Id': remoteId, 'X-RemoteCluster-Token': peerToken, 'Content-Type': 'application/json' };
  }

  function authHeaders(who: 'admin' | 'user' | 'none' | 'garbage' | 'peer' | 'throwaway'): Record<string, string> {
    switch (who) {
      case 'throwaway': return { Authorization: `Bearer ${carol.token}` };
      case 'admin': return { Authorization: `Bearer ${adminA.token}` };
      case 'user': return { Authorization: `Bearer ${alice.token}` };
      case 'garbage': return { Authorization: 'Bearer not-a-token', 'X-RemoteCluster-Id': remoteId, 'X-RemoteCluster-Token': 'nope' };
      case 'peer': return peerHeaders();
      default: return {};
    }
  }

  /** Sends `r`; every answer below 500, an AppError body on every JSON error. */
  async function expectAnswered(r: FuzzRequest, check?: (res: FuzzResponse) => void): Promise<void> {
    let res: FuzzResponse;
    const started = Date.now();
    try {
      res = await send(a.url, r, ANSWER_DEADLINE_MS);
      if (process.env.FUZZ_LOG_SLOW && Date.now() - started > Number(process.env.FUZZ_LOG_SLOW)) {
        process.stdout.write(`slow ${Date.now() - started} ms: ${r.method} ${r.path.slice(0, 100)} ${JSON.stringify(r.headers).slice(0, 200)} body ${r.body?.length} -> ${res.status} ${res.body.toString().slice(0, 200)}\n`);
      }
    } catch (err) {
      throw new Error(`${r.method} ${r.path.slice(0, 200)}: ${(err as Error).message}`, { cause: err });
    }
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    if (res.status >= 500) throw new Error(`${r.method} ${r.path.slice(0, 200)} answered ${res.status}: ${res.body.toString().slice(0, 500)}`);
    if (res.status >= 400 && res.contentType.startsWith('application/json')) {
      const body = JSON.parse(res.body.toString()) as { id?: unknown; status_code?: unknown; request_id?: unknown };
      expect(typeof body.id).toBe('string');
      expect(body.status_code).toBe(res.status);
      expect(typeof body.request_id).toBe('string');
    }
    check?.(res);
  }

  function fillPath(template: string, params: string[], raw: boolean): string {
    let i = 0;
    return template.replace(/\{[a-z_]+\}/g, () => {
      const p = params[i++ % params.length];
      return raw ? p : encodeURIComponent(p);
    });
  }

  const options = (offset: number, runs: number) => ({ seed: SEED + offset, numRuns: runs, endOnFailure: true });

  afterEach(() => {
    expect(a.running()).toBe(true);
  });

  it('client API routes: JSON of wrong types, nulls, huge strings, deep nesting, unknown fields; odd ids, queries and tokens', async () => {
    const clientOps = operations.filter((op) => !S2S.test(op.path));
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          op: fc.constantFrom(...clientOps),
          params: fc.array(idArb(known), { minLength: 3, maxLength: 3 }),
          raw: fc.boolean(),
          query: queryString,
          who: fc.constantFrom('admin', 'user', 'user', 'none', 'garbage'),
          body: jsonBody(known),
          contentType: fc.oneof(
            { weight: 8, arbitrary: fc.constant('application/json') },
            { weight: 1, arbitrary: fc.constantFrom('application/json; charset=latin1', 'application/json; charset=utf-16', 'text/plain', 'application/x-www-form-urlencoded', 'application/vnd.api+json', '') },
          ),
        }),
        async ({ op, params, raw, query, who, body, contentType }) => {
          // Logging a real session out would only make the rest of the run test 401s: a session of its own.
          const caller = op.path === '/api/v4/users/logout' && (who === 'admin' || who === 'user') ? 'throwaway' : who;
          const withBody = !['GET', 'DELETE'].includes(op.method) || body.length % 3 === 0;
          await expectAnswered({
            method: op.method,
            path: fillPath(op.path, params, raw) + query,
            headers: { ...authHeaders(caller), ...(contentType ? { 'Content-Type': contentType } : {}) },
            body: withBody ? body : undefined,
          });
        },
      ),
      options(1, RUNS * 3),
    );
  }, testTimeout(RUNS * 3));

  it('compressed bodies are refused with 415 on every route, whatever they inflate to', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...operations),
        fc.constantFrom('gzip', 'br', 'deflate', 'zstd', 'GZIP', 'x-gzip', 'gzip, br', 'identity', ' identity ', '*', 'compress'),
        fc.oneof(jsonBody(known), fc.integer({ min: 1_000, max: 300_000 }).map((n) => Buffer.from(`[${'{},'.repeat(n)}{}]`))),
        async (op, encoding, inflated) => {
          const body = encoding.includes('br') ? brotliCompressSync(inflated) : encoding.includes('deflate') ? deflateSync(inflated) : gzipSync(inflated);
          const identity = encoding.trim().toLowerCase() === 'identity';
          await expectAnswered(
            {
              method: op.method === 'GET' ? 'POST' : op.method,
              path: fillPath(op.path, known, false),
              headers: { ...authHeaders(S2S.test(op.path) ? 'peer' : 'admin'), 'Content-Type': 'application/json', 'Content-Encoding': encoding },
              body: identity ? inflated.subarray(0, 100_000) : body,
            },
            (res) => {
              if (!identity) expect(res.status).toBe(415);
            },
          );
        },
      ),
      options(2, RUNS),
    );
  }, testTimeout(RUNS));

  it('multipart uploads: cut off, no boundary, thousands of parts, path-like filenames, to every upload route', async () => {
    const channelField = fc.oneof(fc.constant(sharedChannel), idArb(known));
    const upload = fc.constantFrom(...MULTIPART_ROUTES).chain((route) =>
      fc.tuple(
        fc.constant(route),
        channelField.chain((channelId) => multipartBody(route === '/api/v4/files' ? 'files' : 'image', { channel_id: channelId }).map((form) => ({ form, channelId }))),
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        upload,
        fc.constantFrom('user', 'admin', 'none'),
        fc.oneof(idArb(known), fc.constant(uploadSessionId), fc.constant('me')),
        fc.boolean(),
        async ([route, { form, channelId }], who, id, channelInQuery) => {
          const peer = S2S.test(route);
          const param = route.includes('user_id') && peer && id === 'me' ? bob.id : id;
          await expectAnswered({
            method: 'POST',
            path: fillPath(route, [param], false) + (route === '/api/v4/files' && channelInQuery ? `?channel_id=${encodeURIComponent(channelId)}` : ''),
            headers: { ...authHeaders(peer ? 'peer' : (who as 'user' | 'admin' | 'none')), 'Content-Type': form.contentType },
            body: form.body,
          });
        },
      ),
      options(3, RUNS),
    );
  }, testTimeout(RUNS));

  it('broken HTTP: odd methods, header names and values, framing, oversized headers', async () => {
    const port = Number(new URL(a.url).port);
    const headerLine = fc.oneof(
      fc.tuple(fc.stringMatching(/^[A-Za-z-]{1,20}$/), fc.string({ maxLength: 40 })).map(([k, v]) => `${k}: ${v.replace(/[\r\n]/g, '')}`),
      fc.constantFrom(
        'Content-Length: -1', 'Content-Length: 5', 'Content-Length: 99999999999999999999', 'Content-Length: 1\r\nContent-Length: 2',
        'Transfer-Encoding: chunked', 'Transfer-Encoding: gzip, chunked', 'Transfer-Encoding: chunked\r\nContent-Length: 3',
        'Content-Type: application/json', 'Content-Type: multipart/form-data; boundary=', 'Authorization: Bearer \u0000',
        `Authorization: Bearer ${'t'.repeat(20_000)}`, `X-Request-Id: ${'r'.repeat(500)}`, 'X-RemoteCluster-Id: ../../x', 'Host:',
        'Expect: 100-continue', `X-Forwarded-For: ${'1.'.repeat(2_000)}1`, 'Content-Encoding: identity', 'Connection: upgrade\r\nUpgrade: websocket',
      ),
      fc.string({ unit: 'binary', maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, '')),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE', 'CONNECT', 'PROPFIND', 'G\u00e9T', ''),
        fc.oneof(fc.constantFrom(...operations).map((op) => fillPath(op.path, known, false)), fc.constantFrom('*', '/', '//api/v4/posts', '/api/v4/../../etc/passwd', '/%00', '/api/v4/files/%2e%2e%2f%2e%2e%2f', 'http://evil/x'), fc.string({ maxLength: 30 })),
        fc.array(headerLine, { maxLength: 5 }),
        fc.oneof(fc.constant(''), fc.constantFrom('0\r\n\r\n', 'zz\r\nxx\r\n', '5\r\nab\r\n0\r\n\r\n', '{"a":1}'), fc.string({ maxLength: 50 })),
        async (method, path, headers, body) => {
          const text = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n${body}`;
          let status: number;
          try {
            status = await sendRaw(port, Buffer.from(text, 'latin1'), ANSWER_DEADLINE_MS);
          } catch (err) {
            throw new Error(`${JSON.stringify(text.slice(0, 300))}: ${(err as Error).message}`, { cause: err });
          }
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          expect(status).toBeLessThan(500);
        },
      ),
      options(4, RUNS * 2),
    );
  }, testTimeout(RUNS * 2));

  it('server-to-server frames with the peer\'s valid credentials: every topic, wrong types, odd timestamps, over-cap collections', async () => {
    const ids = () => [...known, bob.id, sharedChannel];
    const skeletonPost = () => ({
      id: newId(), create_at: Date.now(), update_at: Date.now(), edit_at: 0, delete_at: 0, is_pinned: false, user_id: bob.id,
      channel_id: sharedChannel, root_id: '', original_id: '', message: 'fuzz', type: '', props: {}, hashtags: '', file_ids: [],
      pending_post_id: '', reply_count: 0, last_reply_at: 0, participants: null,
    });
    const item = (skeleton: () => Record<string, unknown>) =>
      fc.oneof(
        { weight: 4, arbitrary: vocabularyObject(ids(), FIELD_VOCABULARY, 4).map((over) => ({ ...skeleton(), ...over })) },
        { weight: 1, arbitrary: hostileJson },
      );
    // A few generated items, or over a thousand: a few generated ones repeated (with fresh ids where they have
    // one), which costs the generator nothing.
    const many = <T>(arb: fc.Arbitrary<T>) =>
      fc.oneof(
        { weight: 6, arbitrary: fc.array(arb, { maxLength: 5 }) },
        {
          weight: 1,
          arbitrary: fc.tuple(fc.array(arb, { minLength: 1, maxLength: 3 }), fc.integer({ min: 1_000, max: 2_500 })).map(([items, count]) => {
            // Thousands of small items; large ones (huge strings) only a few times, or the frame is hundreds of MB.
            const n = JSON.stringify(items).length > 2_000 ? 3 : count;
            return Array.from({ length: n }, (_, i) => {
              const x = items[i % items.length];
              return x && typeof x === 'object' && !Array.isArray(x) && 'id' in x ? { ...x, id: newId() } : x;
            });
          }),
        },
      );
    const syncPayload = fc.record(
      {
        id: idArb(ids()),
        channel_id: fc.oneof({ weight: 5, arbitrary: fc.constant(sharedChannel) }, { weight: 1, arbitrary: idArb(ids()) }, { weight: 1, arbitrary: fc.constant('') }),
        posts: many(item(skeletonPost)),
        reactions: many(item(() => ({ user_id: bob.id, post_id: known[5], emoji_name: 'smile', create_at: Date.now(), update_at: Date.now(), delete_at: 0, remote_id: null, channel_id: sharedChannel }))),
        acknowledgements: many(item(() => ({ user_id: bob.id, post_id: known[6], acknowledged_at: Date.now(), channel_id: sharedChannel }))),
        statuses: many(item(() => ({ user_id: bob.id, status: 'online', manual: false, last_activity_at: Date.now(), dnd_end_time: 0 }))),
        membership_changes: many(item(() => ({ channel_id: sharedChannel, user_id: bob.id, is_add: true, remote_id: remoteId, change_time: Date.now() }))),
        users: fc.dictionary(idArb([bob.id]), item(() => ({ id: bob.id, username: 'fuzz-bob', email: 'b@example.com', create_at: 1, update_at: Date.now(), delete_at: 0, roles: 'system_user', locale: 'en', timezone: {}, props: {} })), { maxKeys: 3 }),
        mention_transforms: fc.dictionary(hostileString, idArb(ids()), { maxKeys: 5 }),
      },
      { requiredKeys: ['channel_id'] },
    );
    const payloadFor = (topic: string): fc.Arbitrary<unknown> =>
      topic === 'sharedchannel_sync' || topic === 'sharedchannel_membership' || topic === 'sharedchannel_global_user_sync' ? fc.oneof({ weight: 5, arbitrary: syncPayload }, { weight: 1, arbitrary: hostileJson })
        : topic === 'sharedchannel_upload' ? item(() => ({ id: newId(), type: 'attachment', create_at: Date.now(), user_id: bob.id, channel_id: sharedChannel, filename: `${ESCAPE_MARKER}.bin`, file_size: 10, file_offset: 0, remote_id: remoteId, req_file_id: newId() }))
          : topic === 'sharedchannel_invite' ? item(() => ({ channel_id: newId(), team_id: '', read_only: false, name: `fz-${newId().slice(0, 6)}`, display_name: 'x', header: '', purpose: '', type: 'O', creator_id: '', direct_participant_ids: null, direct_participants: null }))
            : hostileJson;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...TOPICS).chain((topic) => fc.tuple(fc.constant(topic), payloadFor(topic))),
        fc.oneof({ weight: 6, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: vocabularyObject(ids(), ['remote_id', 'msg', 'id', 'topic', 'create_at', 'payload'], 3) }),
        fc.oneof({ weight: 6, arbitrary: fc.constant(Date.now()) }, { weight: 1, arbitrary: hostileNumber }),
        fc.nat(40),
        async ([topic, payload], over, createAt, oversized) => {
          // Now and then a frame past the 16 MiB limit (413, never read into memory).
          const padding = oversized === 0 ? { padding: 'p'.repeat(17 * 1024 * 1024) } : {};
          const body = JSON.stringify({ remote_id: remoteId, msg: { id: newId(), topic, create_at: createAt, payload }, ...over, ...padding });
          await expectAnswered({ method: 'POST', path: '/api/v4/remotecluster/msg', headers: peerHeaders(), body: Buffer.from(body) });
        },
      ),
      options(5, RUNS),
    );
  }, testTimeout(RUNS));

  it('the other server-to-server routes with valid credentials: ping, confirm_invite, raw upload bytes, profile images', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/api/v4/remotecluster/ping', '/api/v4/remotecluster/confirm_invite', `/api/v4/remotecluster/upload/{id}`, '/api/v4/remotecluster/{id}/image'),
        fc.oneof(idArb([uploadSessionId, bob.id, alice.id]), fc.constant(uploadSessionId)),
        fc.oneof(jsonBody(known), fc.uint8Array({ maxLength: 3_000 }).map((u) => Buffer.from(u))),
        fc.constantFrom('application/json', 'application/octet-stream', 'image/png', ''),
        async (route, id, body, contentType) => {
          await expectAnswered({
            method: 'POST',
            path: route.replace('{id}', encodeURIComponent(id)),
            headers: { ...peerHeaders(), ...(contentType ? { 'Content-Type': contentType } : { 'Content-Type': '' }) },
            body,
          });
        },
      ),
      options(6, RUNS),
    );
  }, testTimeout(RUNS));

  it('bodies that stop arriving are answered 408 and cost nothing else', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/api/v4/users/login', '/api/v4/posts', '/api/v4/files', '/api/v4/remotecluster/msg', `/api/v4/remotecluster/upload/{id}`),
        fc.integer({ min: 0, max: 500 }),
        async (route, sent) => {
          const peer = route.includes('remotecluster');
          const body = Buffer.alloc(sent, 0x7b);
          // An upload session has one writer at a time: right after the previous cut-off body it may still be
          // finishing (409 busy); it must be free again a moment later, or the cut-off body leaked its lease.
          for (let attempt = 0; ; attempt++) {
            let status = 0;
            await expectAnswered(
              {
                method: 'POST',
                path: route.replace('{id}', stallSessionId),
                headers: {
                  ...(peer ? peerHeaders() : authHeaders('user')),
                  'Content-Type': route === '/api/v4/files' ? 'multipart/form-data; boundary=x' : 'application/json',
                },
                body,
                declaredLength: sent + 1_000,
              },
              (res) => (status = res.status),
            );
            if (status === 409 && route.includes('upload') && attempt < 10) {
              await new Promise((r) => setTimeout(r, 200));
              continue;
            }
            expect(status).toBe(408);
            break;
          }
        },
      ),
      options(7, Math.max(3, Math.ceil(RUNS / 60))),
    );
  }, testTimeout(RUNS / 4));

  it('throughout: the process stayed up, every concurrent ping was answered, and nothing was written outside FILES_DIR', async () => {
    expect(a.running()).toBe(true);
    const { failures, answered } = await pinger.stop();
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(0);
    // The sandbox (the server's working directory) holds FILES_DIR and nothing else.
    expect(await readdir(sandbox)).toEqual(['files']);
    // Every file under FILES_DIR is really there (no link leading out of it).
    for (const entry of await readdir(filesDir, { recursive: true, withFileTypes: true })) {
      const real = await realpath(join(entry.parentPath, entry.name));
      expect(real.startsWith(filesDir + sep)).toBe(true);
    }
    // No file named after a hostile upload name exists where such names could lead: the temporary directory
    // and the repository.
    for (const dir of [tmpdir(), process.cwd(), '/tmp']) {
      const names = await readdir(dir).catch(() => [] as string[]);
      expect(names.filter((n) => n.includes(ESCAPE_MARKER))).toEqual([]);
    }
  });
});
