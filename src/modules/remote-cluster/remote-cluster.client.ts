import { randomBytes } from 'node:crypto';
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { Inject, Injectable, Logger, type OnApplicationShutdown, Optional } from '@nestjs/common';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { newId } from '../../common/ids.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { PEER_ADDRESS_DENIED, PeerAddressPolicy, parsePeerUrl, PeerUrlError } from './peer-address-policy.js';
import {
  parsePingReply,
  parseResponse,
  type RemoteClusterFrame,
  type RemoteClusterMsg,
  type RemoteClusterPing,
  type RemoteClusterResponse,
  RESPONSE_STATUS_OK,
  TOPIC_INVITATION,
  TOPIC_PING,
} from './dto/frame.dto.js';
import type { RemoteClusterInvite } from './invite-crypto.js';
import { DeliveryTrace } from './trace/delivery-trace.service.js';
import type { EnvelopeResult } from './trace/trace-envelope.entity.js';

/**
 * The only code in the server that calls peers. Everything that goes to another server, a message, a ping or
 * an invitation confirmation, is a JSON frame POSTed here, with Mattermost's headers and limits (section 3.4);
 * file and profile-image bytes are streamed from their store into the request, never held in memory whole.
 * Every connection goes through PeerAddressPolicy: literal IP hosts are judged before the request, names by the
 * Agent's `lookup` when the socket opens (so DNS rebinding cannot slip a private address in), and redirects are
 * never followed (a 3xx is a failed call like any other non-200).
 */

/** Where and as whom to call a peer: its id, base URL and the token it expects from us. */
export interface PeerTarget {
  remote_id: string;
  site_url: string;
  /** The peer's secret for us (our record's remote_token, or the invite token during the handshake). */
  token: string;
}

export interface RemoteClusterClientOptions {
  /** Whole exchange for /msg, including waiting for a socket (Mattermost: 60 s). */
  msgTimeoutMs: number;
  /** Whole exchange for /ping and /confirm_invite (Mattermost: 15 s). */
  pingTimeoutMs: number;
  /** Larger replies are refused mid-stream (Mattermost's MaxRemoteResponseSize, 1 MiB). */
  maxResponseBytes: number;
  /** Concurrent connections to one peer; more requests wait for that peer only. */
  maxSocketsPerRemote: number;
  /** Idle keep-alive sockets are closed after this, before a typical server (Node: 5 s) closes them under us. */
  idleSocketTimeoutMs: number;
  /**
   * Whole exchange for streamed bytes (uploads, profile images), on top of the idle limit (msgTimeoutMs without
   * progress): a peer that reads one byte a second never stalls but must not hold a worker forever. An upload cut
   * off here resumes from the receiver's offset on the next pass.
   */
  transferTimeoutMs: number;
}

export const REMOTE_CLUSTER_CLIENT_OPTIONS = Symbol('REMOTE_CLUSTER_CLIENT_OPTIONS');

export const DEFAULT_CLIENT_OPTIONS: RemoteClusterClientOptions = {
  msgTimeoutMs: 60_000,
  pingTimeoutMs: 15_000,
  maxResponseBytes: 1024 * 1024,
  maxSocketsPerRemote: 10,
  idleSocketTimeoutMs: 4_000,
  transferTimeoutMs: 10 * 60_000,
};

export const REMOTE_CLUSTER_ID_HEADERS = ['X-RemoteCluster-Id', 'X-MM-RemoteCluster-Id'] as const;
export const REMOTE_CLUSTER_TOKEN_HEADERS = ['X-RemoteCluster-Token', 'X-MM-RemoteCluster-Token'] as const;

const API_PATH = 'api/v4/remotecluster';

export type TransportFailure = 'timeout' | 'network' | 'http_status' | 'too_large' | 'bad_response' | 'rejected' | 'denied';

/**
 * What an admin is told about a failed call, instead of the socket error: enough to act on, too little to map a
 * network with (accept_invite must not become a port scanner).
 */
export type PeerFailureReason = 'denied' | 'unreachable' | 'refused' | 'tls' | 'not_compatible' | 'rejected';

const TLS_ERROR = /^(?:ERR_TLS_|ERR_SSL_|CERT_|EPROTO$|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_)/;
/** Mattermost's i18n ids: what a peer's AppError may contribute to a message shown to our admin. */
const APP_ERROR_ID = /^[\w.-]{1,128}$/;

/** A call to a peer failed. `permanent` says whether sending the same thing again could ever succeed. */
export class RemoteClusterTransportError extends Error {
  constructor(
    readonly remoteId: string,
    readonly kind: TransportFailure,
    message: string,
    /** The peer's HTTP status, for http_status. */
    readonly status?: number,
    /** The socket error code (ECONNREFUSED, CERT_HAS_EXPIRED...), for network. */
    readonly code?: string,
    /** The id of the AppError the peer answered with, when it answered one. */
    readonly peerErrorId?: string,
  ) {
    super(message);
    this.name = 'RemoteClusterTransportError';
  }

  get timeout(): boolean {
    return this.kind === 'timeout';
  }

  /** The peer understood and refused (4xx other than 408/429, or a FAIL envelope), or policy forbids it: retrying will not help. */
  get permanent(): boolean {
    if (this.kind === 'rejected' || this.kind === 'denied') return true;
    return this.kind === 'http_status' && this.status !== undefined && this.status >= 400 && this.status < 500 && this.status !== 408 && this.status !== 429;
  }

  get reason(): PeerFailureReason {
    switch (this.kind) {
      case 'denied':
        return 'denied';
      case 'rejected':
        return 'rejected';
      case 'timeout':
        return 'unreachable';
      case 'network':
        if (this.code === 'ECONNREFUSED') return 'refused';
        return this.code && TLS_ERROR.test(this.code) ? 'tls' : 'unreachable';
      case 'http_status':
        return this.permanent && this.peerErrorId ? 'rejected' : 'not_compatible';
      default:
        return 'not_compatible';
    }
  }

  /** One sentence for an admin: the classified reason, plus the peer's own error id when it refused us. */
  describe(peer = 'the remote server'): string {
    switch (this.reason) {
      case 'denied':
        return this.message;
      case 'refused':
        return `${peer} refused the connection`;
      case 'tls':
        return `the TLS handshake with ${peer} failed (certificate or protocol)`;
      case 'unreachable':
        return `${peer} could not be reached`;
      case 'rejected':
        return `${peer} refused: ${this.peerErrorId ?? this.message.replace(/[^\x20-\x7e]/g, '').slice(0, 200)}`;
      default:
        return `${peer} did not answer as a Mattermost-compatible server`;
    }
  }
}

/** A keep-alive socket the peer had already closed when we reused it: safe to retry once on a new one. */
class StaleSocketError extends RemoteClusterTransportError {}

/** What is about to leave for a peer: the whole frame for JSON calls, only the size for file bytes. */
export interface OutboundRecord {
  remote_id: string;
  kind: 'msg' | 'ping' | 'confirm_invite' | 'upload' | 'profile_image';
  url: string;
  /** The JSON frame as sent (msg, ping, confirm_invite). */
  body?: string;
  /** Bytes of a streamed body (upload, profile_image). */
  bytes?: number;
}

export type OutboundListener = (record: OutboundRecord) => void;

/** A streamed request body: opened (again, after a stale keep-alive socket) only when the request goes out. */
export interface StreamedBody {
  open: () => Promise<Readable>;
  length: number;
}

/** The peer's answer to an upload: 200 with the FileInfo when the file is complete, 204 while it is not. */
export interface UploadReply {
  complete: boolean;
  /** The FileInfo JSON (complete only). */
  fileInfo?: unknown;
}

export interface PingResult {
  sent_at: number;
  recv_at: number;
  rtt_ms: number;
}

/**
 * An endpoint under a peer's base URL, built with the URL API (a path prefix is kept). Mattermost concatenates
 * strings for /ping and /confirm_invite, which lets a site_url ending in "?" or "#" choose the path; the base is
 * checked by parsePeerUrl first, and throws PeerUrlError when it is not an acceptable peer URL.
 */
export function joinedUrl(siteUrl: string, endpoint: string): URL {
  const url = parsePeerUrl(siteUrl);
  url.pathname = posix.join(url.pathname || '/', API_PATH, endpoint);
  return url;
}

interface PeerAgent {
  origin: string;
  agent: HttpAgent;
}

interface RawReply {
  status: number;
  body: Buffer;
}

/**
 * How one request is bounded: a total deadline (frames), or for streamed bytes a limit on time without progress
 * and a (longer) total deadline.
 */
type Timing = { deadline: number; idleMs?: number };

interface OutgoingBody {
  headers: Record<string, string | number>;
  /** The JSON frame. */
  buffer?: Buffer;
  stream?: StreamedBody;
}

/** The multipart envelope Mattermost's sendProfileImage writes: one file part `image`, filename profile.png. */
function multipartImage(boundary: string): { head: Buffer; tail: Buffer } {
  return {
    head: Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="profile.png"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    ),
    tail: Buffer.from(`\r\n--${boundary}--\r\n`),
  };
}

@Injectable()
export class RemoteClusterClient implements OnApplicationShutdown {
  private readonly logger = new Logger(RemoteClusterClient.name);
  private readonly options: RemoteClusterClientOptions;
  /** One keep-alive pool per remote: a slow or dead peer only ever occupies its own sockets. */
  private readonly agents = new Map<string, PeerAgent>();
  private readonly sent: Counter<'remote_id'>;
  private readonly errors: Counter<'remote_id' | 'timeout'>;
  private readonly pingTime: Histogram<'remote_id'>;
  private readonly clockSkew: Gauge<'remote_id'>;
  private readonly streamedBytes: Counter<'remote_id' | 'kind'>;
  private readonly outboundListeners = new Set<OutboundListener>();

  constructor(
    metrics: MetricsService,
    private readonly policy: PeerAddressPolicy,
    @Optional() @Inject(REMOTE_CLUSTER_CLIENT_OPTIONS) options?: Partial<RemoteClusterClientOptions>,
    /** Journals every call (the delivery trace); absent in unit tests that build the client alone. */
    @Optional() private readonly trace?: DeliveryTrace,
  ) {
    this.options = { ...DEFAULT_CLIENT_OPTIONS, ...options };
    this.sent = metrics.counter('remote_cluster_msg_sent_total', 'Frames sent to remote clusters that got HTTP 200', ['remote_id']);
    this.errors = metrics.counter('remote_cluster_msg_errors_total', 'Frames to remote clusters that failed (transport or non-200)', [
      'remote_id',
      'timeout',
    ]);
    this.pingTime = metrics.histogram('remote_cluster_ping_time', 'Round trip of pings to remote clusters, seconds', ['remote_id'], [
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15,
    ]);
    this.clockSkew = metrics.gauge(
      'remote_cluster_clock_skew',
      'Estimated clock offset of a remote cluster from its last ping: rtt/2 - (recv_at - sent_at), seconds',
      ['remote_id'],
    );
    this.streamedBytes = metrics.counter('remote_cluster_bytes_streamed_total', 'File and profile-image bytes sent to remote clusters', [
      'remote_id',
      'kind',
    ]);
  }

  /**
   * Sees every request before it leaves (for audits: what exactly did we tell which peer). Listeners run in line
   * and must not throw; returns the unsubscribe function.
   */
  onOutbound(listener: OutboundListener): () => void {
    this.outboundListeners.add(listener);
    return () => this.outboundListeners.delete(listener);
  }

  /**
   * POST /upload/{uploadId} with the file's bytes from the session's offset on (section 7 step 3): a raw body with
   * only the X- headers, as Mattermost sends it. Streamed, and bounded by time without progress (so a large file
   * on a slow link is not cut off at 60 s, Mattermost's weakness 12.21) and by transferTimeoutMs overall.
   */
  async uploadFile(target: PeerTarget, uploadId: string, body: StreamedBody): Promise<UploadReply> {
    const url = this.endpoint(target, `upload/${uploadId}`);
    this.notify({ remote_id: target.remote_id, kind: 'upload', url: url.href, bytes: body.length });
    const reply = await this.traced(
      { remote_id: target.remote_id, topic: 'upload', bytes: body.length },
      () => this.post(target, url, { headers: { 'Content-Length': body.length }, stream: body }, this.transferTiming(), [200, 204]),
      (r) => ({ result: 'ok', status: r.status }),
    );
    this.streamedBytes.inc({ remote_id: target.remote_id, kind: 'upload' }, body.length);
    if (reply.status === 204) return { complete: false };
    const info = this.json(reply.body);
    if (!info || typeof info !== 'object') throw new RemoteClusterTransportError(target.remote_id, 'bad_response', 'the reply to /upload is not a FileInfo');
    return { complete: true, fileInfo: info };
  }

  /** POST /{userId}/image: multipart part `image` (filename profile.png) streamed from the store (section 6.5). */
  async sendProfileImage(target: PeerTarget, userId: string, image: StreamedBody): Promise<void> {
    const url = this.endpoint(target, `${userId}/image`);
    const boundary = `mmfed${randomBytes(12).toString('hex')}`;
    const { head, tail } = multipartImage(boundary);
    const length = head.length + image.length + tail.length;
    const open = async (): Promise<Readable> => {
      const file = await image.open();
      return Readable.from(
        (async function* () {
          yield head;
          for await (const chunk of file) yield chunk as Buffer;
          yield tail;
        })(),
        { objectMode: false },
      );
    };
    this.notify({ remote_id: target.remote_id, kind: 'profile_image', url: url.href, bytes: image.length });
    await this.traced({ remote_id: target.remote_id, topic: 'profile_image', bytes: length }, () =>
      this.post(
        target,
        url,
        { headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': length }, stream: { open, length } },
        this.transferTiming(),
      ),
    );
    this.streamedBytes.inc({ remote_id: target.remote_id, kind: 'profile_image' }, image.length);
  }

  /** POST /msg; the peer's Response envelope (which may say FAIL: that is the caller's business). */
  async sendMsg<P>(target: PeerTarget, msg: RemoteClusterMsg<P>): Promise<RemoteClusterResponse> {
    const frame = { remote_id: target.remote_id, msg };
    const text = JSON.stringify(frame);
    return this.traced(
      { remote_id: target.remote_id, topic: msg.topic, msg_id: msg.id, payload: msg.payload, bytes: Buffer.byteLength(text) },
      async () => {
        const reply = await this.postFrame(target, 'msg', this.endpoint(target, 'msg'), frame, this.options.msgTimeoutMs, text);
        const response = parseResponse(this.json(reply.body));
        if (!response) throw new RemoteClusterTransportError(target.remote_id, 'bad_response', 'the reply to /msg is not a Response envelope');
        return response;
      },
      (r) => (r.status === RESPONSE_STATUS_OK ? { result: 'ok' } : { result: 'fail', reason: r.err }),
    );
  }

  /** POST /ping; records round trip and clock skew. The reply is the bare ping object. */
  async ping(target: PeerTarget): Promise<PingResult> {
    const sentAt = Date.now();
    const started = performance.now();
    const msg: RemoteClusterMsg<RemoteClusterPing> = {
      id: newId(),
      topic: TOPIC_PING,
      create_at: sentAt,
      payload: { sent_at: sentAt, recv_at: 0 },
    };
    const frame = { remote_id: target.remote_id, msg };
    const text = JSON.stringify(frame);
    const reply = await this.traced({ remote_id: target.remote_id, topic: TOPIC_PING, msg_id: msg.id, bytes: Buffer.byteLength(text) }, () =>
      this.postFrame(target, 'ping', this.endpoint(target, 'ping'), frame, this.options.pingTimeoutMs, text),
    );
    const rttMs = performance.now() - started;
    const ping = parsePingReply(this.json(reply.body));
    if (!ping) throw new RemoteClusterTransportError(target.remote_id, 'bad_response', 'the reply to /ping is not a ping');
    this.pingTime.observe({ remote_id: target.remote_id }, rttMs / 1000);
    this.clockSkew.set({ remote_id: target.remote_id }, rttMs / 2 / 1000 - (ping.recv_at - sentAt) / 1000);
    return { sent_at: sentAt, recv_at: ping.recv_at, rtt_ms: rttMs };
  }

  /**
   * POST /confirm_invite to the inviting server, authenticated with the invite's token. Resolves only when the
   * inviter answered `{"status":"OK"}`; its refusals reject with kind http_status (4xx) or rejected.
   */
  async confirmInvite(target: PeerTarget, confirmation: RemoteClusterInvite): Promise<void> {
    const msg: RemoteClusterMsg<RemoteClusterInvite> = { id: newId(), topic: TOPIC_INVITATION, create_at: Date.now(), payload: confirmation };
    const frame = { remote_id: target.remote_id, msg };
    const text = JSON.stringify(frame);
    // The payload carries tokens: the trace records the envelope without it.
    await this.traced({ remote_id: target.remote_id, topic: 'confirm_invite', msg_id: msg.id, bytes: Buffer.byteLength(text) }, async () => {
      const reply = await this.postFrame(target, 'confirm_invite', this.endpoint(target, 'confirm_invite'), frame, this.options.pingTimeoutMs, text);
      const response = parseResponse(this.json(reply.body));
      if (!response) throw new RemoteClusterTransportError(target.remote_id, 'bad_response', 'the reply to /confirm_invite is not a Response envelope');
      if (response.status !== RESPONSE_STATUS_OK) throw new RemoteClusterTransportError(target.remote_id, 'rejected', response.err || 'confirmation refused');
    });
  }

  /** Drops the connection pool of a remote (deleted, or its URL changed). */
  forget(remoteId: string): void {
    this.agents.get(remoteId)?.agent.destroy();
    this.agents.delete(remoteId);
  }

  onApplicationShutdown(): void {
    for (const { agent } of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  /** The endpoint URL, or a permanent 'denied' failure for a base URL the policy does not accept. */
  private endpoint(target: PeerTarget, endpoint: string): URL {
    try {
      return joinedUrl(target.site_url, endpoint);
    } catch (err) {
      if (!(err instanceof PeerUrlError)) throw err;
      this.errors.inc({ remote_id: target.remote_id, timeout: 'false' });
      throw new RemoteClusterTransportError(target.remote_id, 'denied', err.message);
    }
  }

  private transferTiming(): Timing {
    return { deadline: Date.now() + this.options.transferTimeoutMs, idleMs: this.options.msgTimeoutMs };
  }

  private json(body: Buffer): unknown {
    try {
      return JSON.parse(body.toString('utf8'));
    } catch {
      return undefined;
    }
  }

  private notify(record: OutboundRecord): void {
    for (const listener of this.outboundListeners) {
      try {
        listener(record);
      } catch (err) {
        this.logger.warn({ err, remote_id: record.remote_id }, 'outbound listener failed');
      }
    }
  }

  /**
   * Journals one call in the delivery trace: when it left, for how long, how big, and how it ended (never what it
   * carried: `payload` is only counted). `judge` reads a successful reply (a FAIL envelope is a 'fail').
   */
  private async traced<T>(
    what: { remote_id: string; topic: string; msg_id?: string; payload?: unknown; bytes: number },
    work: () => Promise<T>,
    judge: (value: T) => { result: EnvelopeResult; status?: number; reason?: string } = () => ({ result: 'ok' }),
  ): Promise<T> {
    const at = Date.now();
    try {
      const value = await work();
      const j = judge(value);
      this.trace?.envelope({ direction: 'out', ...what, at, duration_ms: Date.now() - at, result: j.result, status: j.status ?? 200, reason: j.reason });
      return value;
    } catch (err) {
      const failure = err instanceof RemoteClusterTransportError ? err : undefined;
      this.trace?.envelope({
        direction: 'out',
        ...what,
        at,
        duration_ms: Date.now() - at,
        result: failure?.kind === 'rejected' ? 'fail' : 'error',
        status: failure?.status ?? 0,
        reason: failure ? `${failure.kind}: ${failure.message}` : 'internal error',
      });
      throw err;
    }
  }

  /** A JSON frame, under one deadline. */
  private postFrame(target: PeerTarget, kind: OutboundRecord['kind'], url: URL, frame: RemoteClusterFrame, timeoutMs: number, serialized?: string): Promise<RawReply> {
    const text = serialized ?? JSON.stringify(frame);
    this.notify({ remote_id: target.remote_id, kind, url: url.href, body: text });
    const buffer = Buffer.from(text, 'utf8');
    return this.post(
      target,
      url,
      { headers: { 'Content-Type': 'application/json', 'Content-Length': buffer.length }, buffer },
      { deadline: Date.now() + timeoutMs },
    );
  }

  /** One POST with metrics. Another status than `ok` is a failure (Mattermost ignores the body; we keep its error id for logs). */
  private async post(target: PeerTarget, url: URL, body: OutgoingBody, timing: Timing, ok: number[] = [200]): Promise<RawReply> {
    const labels = { remote_id: target.remote_id };
    try {
      const reply = await this.exchange(target, url, body, timing);
      if (!ok.includes(reply.status)) {
        const peerError = this.appErrorOf(reply.body);
        const detail = peerError ? `: ${peerError.id}${peerError.message ? ` (${peerError.message})` : ''}` : '';
        throw new RemoteClusterTransportError(target.remote_id, 'http_status', `${url.pathname} answered ${reply.status}${detail}`, reply.status, undefined, peerError?.id);
      }
      this.sent.inc(labels);
      return reply;
    } catch (err) {
      const failure =
        err instanceof RemoteClusterTransportError ? err : new RemoteClusterTransportError(target.remote_id, 'network', (err as Error).message);
      this.errors.inc({ ...labels, timeout: String(failure.timeout) });
      throw failure;
    }
  }

  private appErrorOf(body: Buffer): { id: string; message: string } | undefined {
    const parsed = this.json(body) as { id?: unknown; message?: unknown } | undefined;
    if (!parsed || typeof parsed.id !== 'string' || !APP_ERROR_ID.test(parsed.id)) return undefined;
    return { id: parsed.id, message: typeof parsed.message === 'string' ? parsed.message.slice(0, 200) : '' };
  }

  /**
   * The HTTP exchange, bounded by `timing` from waiting for a socket to reading the reply. A keep-alive socket
   * the peer closed just as we reused it is retried once on a fresh one, as Node advises (a streamed body is
   * opened again: nothing of it reached the peer).
   */
  private async exchange(target: PeerTarget, url: URL, body: OutgoingBody, timing: Timing): Promise<RawReply> {
    try {
      return await this.attempt(target, url, body, timing);
    } catch (err) {
      if (err instanceof StaleSocketError && Date.now() < timing.deadline) return this.attempt(target, url, body, timing);
      throw err;
    }
  }

  private async attempt(target: PeerTarget, url: URL, body: OutgoingBody, timing: Timing): Promise<RawReply> {
    const { remote_id: remoteId } = target;
    const max = this.options.maxResponseBytes;
    const source = body.stream ? await body.stream.open() : undefined;
    return new Promise<RawReply>((resolve, reject) => {
      let req: ReturnType<typeof httpRequest> | undefined;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (err: Error | null, reply?: RawReply) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          req?.destroy();
          source?.destroy();
          reject(err);
        } else {
          // The peer answered before taking the whole body (a refusal): that socket is done for.
          if (source && !source.readableEnded) {
            source.destroy();
            req?.destroy();
          }
          resolve(reply!);
        }
      };
      // The deadline fires once; an idle limit is pushed back by every chunk that moves either way, never past it.
      const arm = () => {
        clearTimeout(timer);
        const left = Math.max(1, timing.deadline - Date.now());
        const idle = timing.idleMs !== undefined && timing.idleMs < left;
        const ms = idle ? timing.idleMs! : left;
        const what = idle ? `no progress with ${url.origin} for ${ms} ms` : `no complete reply from ${url.origin} in time`;
        timer = setTimeout(() => finish(new RemoteClusterTransportError(remoteId, 'timeout', what)), ms);
      };
      const progress = timing.idleMs !== undefined ? arm : () => undefined;
      arm();
      const denied = this.policy.checkLiteralHost(url);
      if (denied) {
        finish(new RemoteClusterTransportError(remoteId, 'denied', denied.message));
        return;
      }

      try {
        const headers: Record<string, string | number> = { ...body.headers, Accept: 'application/json' };
        for (const h of REMOTE_CLUSTER_ID_HEADERS) headers[h] = remoteId;
        for (const h of REMOTE_CLUSTER_TOKEN_HEADERS) headers[h] = target.token;
        const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
        req = send(url, { method: 'POST', agent: this.agentFor(remoteId, url), lookup: this.policy.lookup, headers }, (res: IncomingMessage) => {
          progress();
          const declared = Number(res.headers['content-length']);
          if (Number.isFinite(declared) && declared > max) {
            finish(new RemoteClusterTransportError(remoteId, 'too_large', `reply of ${declared} bytes exceeds ${max}`));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            progress();
            size += chunk.length;
            if (size > max) {
              finish(new RemoteClusterTransportError(remoteId, 'too_large', `reply exceeds ${max} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => finish(null, { status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on('error', (err) => finish(new RemoteClusterTransportError(remoteId, 'network', err.message)));
          res.on('close', () => {
            if (!res.complete) finish(new RemoteClusterTransportError(remoteId, 'network', 'the reply was cut off'));
          });
        });
        const sent = req;
        sent.on('error', (err: NodeJS.ErrnoException) => {
          if (err.code === PEER_ADDRESS_DENIED) {
            finish(new RemoteClusterTransportError(remoteId, 'denied', err.message));
            return;
          }
          const Failure = sent.reusedSocket && err.code === 'ECONNRESET' ? StaleSocketError : RemoteClusterTransportError;
          finish(new Failure(remoteId, 'network', `${url.origin}: ${err.code ?? err.message}`, undefined, err.code));
        });
        if (source) {
          // Backpressure end to end: the file is read only as fast as the peer takes it.
          source.on('data', progress);
          source.on('error', (err) => finish(new RemoteClusterTransportError(remoteId, 'network', `reading the body: ${err.message}`)));
          source.pipe(sent);
        } else {
          sent.end(body.buffer);
        }
      } catch (err) {
        // Invalid header characters or an unusable URL throw synchronously.
        finish(new RemoteClusterTransportError(remoteId, 'network', (err as Error).message));
      }
    });
  }

  private agentFor(remoteId: string, url: URL): HttpAgent {
    const existing = this.agents.get(remoteId);
    if (existing && existing.origin === url.origin) return existing.agent;
    existing?.agent.destroy();
    const opts = {
      keepAlive: true,
      keepAliveMsecs: 30_000,
      maxSockets: this.options.maxSocketsPerRemote,
      maxFreeSockets: 2,
      timeout: this.options.idleSocketTimeoutMs,
      // Every new socket's addresses are judged when it connects (DNS rebinding cannot bypass the policy).
      lookup: this.policy.lookup,
    };
    const agent = url.protocol === 'https:' ? new HttpsAgent(opts) : new HttpAgent(opts);
    this.agents.set(remoteId, { origin: url.origin, agent });
    this.logger.debug({ remote_id: remoteId, origin: url.origin }, 'new connection pool');
    return agent;
  }
}
