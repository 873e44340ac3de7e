import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MetricsService } from '../../metrics/metrics.service.js';
import { Readable } from 'node:stream';
import { PeerAddressPolicy } from './peer-address-policy.js';
import {
  joinedUrl,
  type OutboundRecord,
  RemoteClusterClient,
  RemoteClusterTransportError,
  type PeerTarget,
} from './remote-cluster.client.js';

const REMOTE = 'tewhd6bhj9buofu8fbiqnbfixg';
const OTHER = 'gpgt4tobrxes9953tho4qxdaa5';
const TOKEN = 'mb3xd3mhpihqq69jkuudbnqhte';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  clientPort: number;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A tiny peer on 127.0.0.1 whose behaviour each test sets; it records what it was sent. */
class FakePeer {
  seen: Seen[] = [];
  handler: Handler = (_req, res) => res.end('{"status":"OK","err":"","payload":null}');
  private server: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.seen.push({ method: req.method!, url: req.url!, headers: req.headers, body, clientPort: req.socket.remotePort! });
        this.handler(req, res, body);
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

async function failureOf(p: Promise<unknown>): Promise<RemoteClusterTransportError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RemoteClusterTransportError);
    return err as RemoteClusterTransportError;
  }
  throw new Error('expected the call to fail');
}

function sample(metrics: MetricsService, name: string, labels: Record<string, string>): Promise<number | undefined> {
  return metrics.registry
    .getSingleMetric(name)!
    .get()
    .then((m) => m.values.find((v) => Object.entries(labels).every(([k, val]) => String(v.labels[k]) === val))?.value);
}

describe('RemoteClusterClient', () => {
  const peer = new FakePeer();
  const slow = new FakePeer();
  let url: string;
  let slowUrl: string;
  let metrics: MetricsService;
  let client: RemoteClusterClient;
  let target: PeerTarget;

  beforeAll(async () => {
    url = await peer.start();
    slowUrl = await slow.start();
  });
  afterAll(async () => {
    await peer.stop();
    await slow.stop();
  });
  beforeEach(() => {
    peer.seen = [];
    peer.handler = (_req, res) => res.end('{"status":"OK","err":"","payload":null}');
    metrics = new MetricsService();
    // The fake peers listen on loopback, which the default policy denies.
    client = new RemoteClusterClient(metrics, new PeerAddressPolicy(['127.0.0.0/8']), { msgTimeoutMs: 300, pingTimeoutMs: 200, maxResponseBytes: 1024 });
    target = { remote_id: REMOTE, site_url: url, token: TOKEN };
  });
  afterEach(() => client.onApplicationShutdown());

  it('posts a frame with both header spellings and JSON content type, and returns the Response', async () => {
    peer.handler = (_req, res) => res.end('{"status":"OK","err":"","payload":{"posts_last_update_at":5}}');
    const reply = await client.sendMsg(target, { id: OTHER, topic: 'sharedchannel_sync', create_at: 1, payload: { a: 1 } });
    expect(reply).toEqual({ status: 'OK', err: '', payload: { posts_last_update_at: 5 } });

    const [req] = peer.seen;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/api/v4/remotecluster/msg');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-remotecluster-id']).toBe(REMOTE);
    expect(req.headers['x-remotecluster-token']).toBe(TOKEN);
    expect(req.headers['x-mm-remotecluster-id']).toBe(REMOTE);
    expect(req.headers['x-mm-remotecluster-token']).toBe(TOKEN);
    expect(JSON.parse(req.body)).toEqual({ remote_id: REMOTE, msg: { id: OTHER, topic: 'sharedchannel_sync', create_at: 1, payload: { a: 1 } } });
    expect(await sample(metrics, 'remote_cluster_msg_sent_total', { remote_id: REMOTE })).toBe(1);
  });

  it('builds every endpoint with the URL API, keeping a path prefix; a query or fragment never chooses the path', async () => {
    expect(joinedUrl('https://chat.example.com', 'msg').href).toBe('https://chat.example.com/api/v4/remotecluster/msg');
    expect(joinedUrl('https://chat.example.com/mm/', 'msg').href).toBe('https://chat.example.com/mm/api/v4/remotecluster/msg');
    expect(joinedUrl('https://chat.example.com/mm', 'ping').href).toBe('https://chat.example.com/mm/api/v4/remotecluster/ping');
    expect(joinedUrl('https://chat.example.com/', 'ping').href).toBe('https://chat.example.com/api/v4/remotecluster/ping');
    expect(() => joinedUrl('https://chat.example.com/api/v4/users/login#', 'ping')).toThrow('query or a fragment');
    expect(() => joinedUrl('https://chat.example.com/x?', 'confirm_invite')).toThrow('query or a fragment');

    peer.handler = (req, res) =>
      res.end(req.url!.endsWith('/ping') ? '{"sent_at":1,"recv_at":2}' : '{"status":"OK","err":"","payload":null}');
    await client.ping({ ...target, site_url: `${url}/prefix` });
    await client.sendMsg({ ...target, site_url: `${url}/prefix/` }, { id: OTHER, topic: 't', create_at: 1, payload: null });
    expect(peer.seen.map((s) => s.url)).toEqual(['/prefix/api/v4/remotecluster/ping', '/prefix/api/v4/remotecluster/msg']);
  });

  it('pings with a ping frame, reads the bare reply and records round trip and clock skew', async () => {
    peer.handler = (_req, res, body) => {
      const frame = JSON.parse(body) as { msg: { payload: { sent_at: number } } };
      res.end(JSON.stringify({ sent_at: frame.msg.payload.sent_at, recv_at: frame.msg.payload.sent_at + 60_000 }));
    };
    const result = await client.ping(target);
    const sent = JSON.parse(peer.seen[0].body) as { remote_id: string; msg: { topic: string; payload: { sent_at: number; recv_at: number } } };
    expect(sent.remote_id).toBe(REMOTE);
    expect(sent.msg.topic).toBe('ping');
    expect(sent.msg.payload).toEqual({ sent_at: result.sent_at, recv_at: 0 });
    expect(result.recv_at - result.sent_at).toBe(60_000);
    // The peer's clock runs a minute ahead.
    expect(await sample(metrics, 'remote_cluster_clock_skew', { remote_id: REMOTE })).toBeCloseTo(-60, 0);
    const histogram = await metrics.registry.getSingleMetric('remote_cluster_ping_time')!.get();
    const count = (histogram.values as Array<{ metricName?: string; value: number }>).find((v) => v.metricName === 'remote_cluster_ping_time_count');
    expect(count?.value).toBe(1);
  });

  it('refuses a reply over the size cap while it streams, and one that declares it', async () => {
    peer.handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' }); // chunked, no length
      res.write(`{"status":"OK","err":"","payload":"${'x'.repeat(800)}`);
      setTimeout(() => res.end(`${'y'.repeat(800)}"}`), 20);
    };
    const streamed = await failureOf(client.sendMsg(target, { id: OTHER, topic: 't', create_at: 1, payload: null }));
    expect(streamed.kind).toBe('too_large');

    peer.handler = (_req, res) => res.end(JSON.stringify({ status: 'OK', err: '', payload: 'z'.repeat(2000) }));
    const declared = await failureOf(client.sendMsg(target, { id: OTHER, topic: 't', create_at: 1, payload: null }));
    expect(declared.kind).toBe('too_large');

    peer.handler = (_req, res) => res.end(JSON.stringify({ status: 'OK', err: '', payload: 'z'.repeat(900) }));
    expect((await client.sendMsg(target, { id: OTHER, topic: 't', create_at: 1, payload: null })).status).toBe('OK');
    expect(await sample(metrics, 'remote_cluster_msg_errors_total', { remote_id: REMOTE, timeout: 'false' })).toBe(2);
  });

  it('times out a peer that never answers, per remote, without delaying another remote', async () => {
    slow.handler = () => undefined; // holds the request open
    const slowTarget = { remote_id: OTHER, site_url: slowUrl, token: TOKEN };
    const started = Date.now();
    const hanging = failureOf(client.sendMsg(slowTarget, { id: OTHER, topic: 't', create_at: 1, payload: null }));
    const hangingPing = failureOf(client.ping(slowTarget));

    // Meanwhile the healthy remote answers at once.
    const healthyStarted = Date.now();
    await client.sendMsg(target, { id: OTHER, topic: 't', create_at: 1, payload: null });
    expect(Date.now() - healthyStarted).toBeLessThan(150);

    const [msgFailure, pingFailure] = await Promise.all([hanging, hangingPing]);
    expect(msgFailure.kind).toBe('timeout');
    expect(msgFailure.timeout).toBe(true);
    expect(pingFailure.kind).toBe('timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await sample(metrics, 'remote_cluster_msg_errors_total', { remote_id: OTHER, timeout: 'true' })).toBe(2);
    expect(await sample(metrics, 'remote_cluster_msg_sent_total', { remote_id: REMOTE })).toBe(1);
  });

  it('treats non-200, a non-envelope body and a refused connection as failures; 4xx is permanent', async () => {
    peer.handler = (_req, res) => {
      res.statusCode = 401;
      res.setHeader('Content-Type', 'application/json');
      res.end('{"id":"api.context.invalid_token.error","message":"Invalid token."}');
    };
    const unauthorized = await failureOf(client.sendMsg(target, { id: OTHER, topic: 't', create_at: 1, payload: null }));
    expect(unauthorized).toMatchObject({ kind: 'http_status', status: 401, permanent: true });
    expect(unauthorized.message).toContain('api.context.invalid_token.error');

    peer.handler = (_req, res) => {
      res.statusCode = 503;
      res.end();
    };
    expect(await failureOf(client.sendMsg(target, { id: OTHER, topic: 't', create_at: 1, payload: null }))).toMatchObject({
      kind: 'http_status',
      status: 503,
      permanent: false,
    });

    peer.handler = (_req, res) => res.end('<html>not json</html>');
    expect((await failureOf(client.sendMsg(target, { id: OTHER, topic: 't', create_at: 1, payload: null }))).kind).toBe('bad_response');
    expect((await failureOf(client.ping(target))).kind).toBe('bad_response');

    const dead = await failureOf(client.ping({ ...target, remote_id: OTHER, site_url: 'http://127.0.0.1:9' }));
    expect(dead).toMatchObject({ kind: 'network', permanent: false });
  });

  it('confirms an invitation only on {"status":"OK"}', async () => {
    peer.handler = (_req, res) => res.end('{"status":"OK"}');
    const confirmation = { remote_id: REMOTE, remote_team_id: '', site_url: 'https://b.example.com', token: 'T2', refreshed_token: 'T3', version: 3 };
    await client.confirmInvite(target, confirmation);
    const sent = JSON.parse(peer.seen[0].body) as { msg: { topic: string; payload: unknown } };
    expect(peer.seen[0].url).toBe('/api/v4/remotecluster/confirm_invite');
    expect(sent.msg.topic).toBe('invitation');
    expect(sent.msg.payload).toEqual(confirmation);

    peer.handler = (_req, res) => res.end('{"status":"FAIL","err":"nope","payload":null}');
    expect(await failureOf(client.confirmInvite(target, confirmation))).toMatchObject({ kind: 'rejected', permanent: true, message: 'nope' });
  });

  it('reuses one keep-alive connection for consecutive calls to a remote', async () => {
    for (let i = 0; i < 3; i++) await client.sendMsg(target, { id: OTHER, topic: 't', create_at: 1, payload: null });
    expect(peer.seen.map((s) => s.headers.connection)).toEqual(['keep-alive', 'keep-alive', 'keep-alive']);
    expect(new Set(peer.seen.map((s) => s.clientPort)).size).toBe(1);
  });

  it('streams an upload raw, with only the X- headers and its length, and reads 204 as incomplete, 200 as the FileInfo', async () => {
    const chunks = [Buffer.alloc(70_000, 1), Buffer.alloc(70_000, 2)];
    let opened = 0;
    const body = { open: async () => (opened++, Readable.from(chunks)), length: 140_000 };
    peer.handler = (_req, res) => {
      res.statusCode = 204;
      res.end();
    };
    expect(await client.uploadFile(target, OTHER, body)).toEqual({ complete: false });
    const [req] = peer.seen;
    expect(req.url).toBe(`/api/v4/remotecluster/upload/${OTHER}`);
    expect(req.headers['content-length']).toBe('140000');
    expect(req.headers['content-type']).toBeUndefined();
    expect(req.headers['x-remotecluster-token']).toBe(TOKEN);
    expect(req.body.length).toBe(140_000);

    peer.handler = (_req, res) => res.end('{"id":"f","size":140000}');
    expect(await client.uploadFile(target, OTHER, body)).toEqual({ complete: true, fileInfo: { id: 'f', size: 140000 } });
    expect(opened).toBe(2);
    peer.handler = (_req, res) => {
      res.statusCode = 413;
      res.end('{"id":"api.upload.create.upload_too_large.app_error"}');
    };
    expect(await failureOf(client.uploadFile(target, OTHER, body))).toMatchObject({ kind: 'http_status', status: 413, permanent: true });
  });

  it('sends a profile image as multipart part "image" named profile.png', async () => {
    peer.handler = (_req, res) => res.end('{"status":"OK"}');
    const png = Buffer.from('\x89PNG\r\n\x1a\nfake', 'latin1');
    await client.sendProfileImage(target, OTHER, { open: async () => Readable.from([png]), length: png.length });
    const [req] = peer.seen;
    expect(req.url).toBe(`/api/v4/remotecluster/${OTHER}/image`);
    const boundary = /boundary=(\S+)/.exec(req.headers['content-type']!)![1];
    expect(Number(req.headers['content-length'])).toBeGreaterThan(png.length + 2 * boundary.length);
    expect(req.body).toContain(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="profile.png"`);
    expect(req.body.endsWith(`--${boundary}--\r\n`)).toBe(true);
  });

  it('fails a stream that stops moving after the idle limit, and tells listeners about every request', async () => {
    const seen: OutboundRecord[] = [];
    const off = client.onOutbound((r) => void seen.push(r));
    await client.sendMsg(target, { id: OTHER, topic: 'sharedchannel_sync', create_at: 1, payload: { secret: false } });
    // A body that sends one chunk and then nothing: no progress for longer than msgTimeoutMs (300 ms).
    const stalled = new Readable({ read() {} });
    stalled.push(Buffer.alloc(10));
    const failure = await failureOf(client.uploadFile(target, OTHER, { open: async () => stalled, length: 100 }));
    expect(failure).toMatchObject({ kind: 'timeout' });
    off();
    await client.sendMsg(target, { id: OTHER, topic: 't', create_at: 1, payload: null });
    expect(seen.map((r) => r.kind)).toEqual(['msg', 'upload']);
    expect(JSON.parse(seen[0].body!)).toMatchObject({ remote_id: REMOTE, msg: { topic: 'sharedchannel_sync', payload: { secret: false } } });
    expect(seen[1]).toMatchObject({ bytes: 100, url: `${url}/api/v4/remotecluster/upload/${OTHER}` });
  });

  it('refuses a loopback peer the policy does not allow, by literal or by name, before any request leaves', async () => {
    const strict = new RemoteClusterClient(metrics, new PeerAddressPolicy([]));
    try {
      const port = new URL(url).port;
      for (const site of [url, `http://localhost:${port}`, `http://[::ffff:127.0.0.1]:${port}`]) {
        const denied = await failureOf(strict.sendMsg({ ...target, site_url: site }, { id: OTHER, topic: 't', create_at: 1, payload: null }));
        expect(denied).toMatchObject({ kind: 'denied', permanent: true, reason: 'denied' });
        expect(denied.message).toContain('loopback');
      }
      const badUrl = await failureOf(strict.ping({ ...target, site_url: `${url}/#` }));
      expect(badUrl).toMatchObject({ kind: 'denied', permanent: true });
      expect(peer.seen).toEqual([]);
    } finally {
      strict.onApplicationShutdown();
    }
  });

  it('does not follow redirects, and tells an admin a classified reason rather than the socket error', async () => {
    peer.handler = (_req, res) => {
      res.statusCode = 307;
      res.setHeader('Location', `${slowUrl}/api/v4/remotecluster/msg`);
      res.end();
    };
    slow.seen = [];
    const redirected = await failureOf(client.sendMsg(target, { id: OTHER, topic: 't', create_at: 1, payload: null }));
    expect(redirected).toMatchObject({ kind: 'http_status', status: 307, reason: 'not_compatible' });
    expect(slow.seen).toEqual([]);
    expect(redirected.describe('the inviting server')).toBe('the inviting server did not answer as a Mattermost-compatible server');

    const refused = await failureOf(client.ping({ ...target, remote_id: OTHER, site_url: 'http://127.0.0.1:9' }));
    expect(refused.reason).toBe('refused');
    expect(refused.describe()).toBe('the remote server refused the connection');

    peer.handler = (_req, res) => {
      res.statusCode = 400;
      res.end('{"id":"api.context.invitation_expired.error","message":"The invitation has expired."}');
    };
    const rejected = await failureOf(client.confirmInvite(target, { remote_id: REMOTE, remote_team_id: '', site_url: url, token: 'T2', version: 3 }));
    expect(rejected.describe('the inviting server')).toBe('the inviting server refused: api.context.invitation_expired.error');
  });

  it('bounds a streamed transfer by an overall deadline even while bytes keep moving', async () => {
    const slowReader = new RemoteClusterClient(metrics, new PeerAddressPolicy(['127.0.0.0/8']), { msgTimeoutMs: 300, transferTimeoutMs: 500 });
    try {
      let timer: NodeJS.Timeout | undefined;
      const trickle = new Readable({
        read() {
          // One byte every 50 ms: never idle for 300 ms, never finished.
          timer = setTimeout(() => this.push(Buffer.alloc(1)), 50);
        },
      });
      const started = Date.now();
      const failure = await failureOf(slowReader.uploadFile(target, OTHER, { open: async () => trickle, length: 1_000_000 }));
      clearTimeout(timer);
      expect(failure).toMatchObject({ kind: 'timeout' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    } finally {
      slowReader.onApplicationShutdown();
    }
  });
});
