import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { posix } from 'node:path';
import { Inject, Injectable, Logger, type OnApplicationShutdown, Optional } from '@nestjs/common';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { newId } from '../../common/ids.js';
import { MetricsService } from '../../metrics/metrics.service.js';
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

/**
 * The only code in the server that calls peers. Everything that goes to another server, a message, a ping or
 * an invitation confirmation, is a JSON frame POSTed here, with Mattermost's headers and limits (section 3.4).
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
}

export const REMOTE_CLUSTER_CLIENT_OPTIONS = Symbol('REMOTE_CLUSTER_CLIENT_OPTIONS');

export const DEFAULT_CLIENT_OPTIONS: RemoteClusterClientOptions = {
  msgTimeoutMs: 60_000,
  pingTimeoutMs: 15_000,
  maxResponseBytes: 1024 * 1024,
  maxSocketsPerRemote: 10,
  idleSocketTimeoutMs: 4_000,
};

export const REMOTE_CLUSTER_ID_HEADERS = ['X-RemoteCluster-Id', 'X-MM-RemoteCluster-Id'] as const;
export const REMOTE_CLUSTER_TOKEN_HEADERS = ['X-RemoteCluster-Token', 'X-MM-RemoteCluster-Token'] as const;

const API_PATH = 'api/v4/remotecluster';

export type TransportFailure = 'timeout' | 'network' | 'http_status' | 'too_large' | 'bad_response' | 'rejected';

/** A call to a peer failed. `permanent` says whether sending the same thing again could ever succeed. */
export class RemoteClusterTransportError extends Error {
  constructor(
    readonly remoteId: string,
    readonly kind: TransportFailure,
    message: string,
    /** The peer's HTTP status, for http_status. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RemoteClusterTransportError';
  }

  get timeout(): boolean {
    return this.kind === 'timeout';
  }

  /** The peer understood and refused (4xx other than 408/429, or a FAIL envelope): retrying will not help. */
  get permanent(): boolean {
    if (this.kind === 'rejected') return true;
    return this.kind === 'http_status' && this.status !== undefined && this.status >= 400 && this.status < 500 && this.status !== 408 && this.status !== 429;
  }
}

/** A keep-alive socket the peer had already closed when we reused it: safe to retry once on a new one. */
class StaleSocketError extends RemoteClusterTransportError {}

export interface PingResult {
  sent_at: number;
  recv_at: number;
  rtt_ms: number;
}

/** Mattermost's sender URL rules (section 3.1): /msg is a path join, /ping and /confirm_invite a concatenation. */
export function joinedUrl(siteUrl: string, endpoint: string): URL {
  const url = new URL(siteUrl);
  url.pathname = posix.join(url.pathname || '/', API_PATH, endpoint);
  return url;
}

export function concatenatedUrl(siteUrl: string, endpoint: string): URL {
  return new URL(`${siteUrl}/${API_PATH}/${endpoint}`);
}

interface PeerAgent {
  origin: string;
  agent: HttpAgent;
}

interface RawReply {
  status: number;
  body: Buffer;
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

  constructor(
    metrics: MetricsService,
    @Optional() @Inject(REMOTE_CLUSTER_CLIENT_OPTIONS) options?: Partial<RemoteClusterClientOptions>,
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
  }

  /** POST /msg; the peer's Response envelope (which may say FAIL: that is the caller's business). */
  async sendMsg<P>(target: PeerTarget, msg: RemoteClusterMsg<P>): Promise<RemoteClusterResponse> {
    const reply = await this.post(target, joinedUrl(target.site_url, 'msg'), { remote_id: target.remote_id, msg }, this.options.msgTimeoutMs);
    const response = parseResponse(this.json(reply.body));
    if (!response) throw new RemoteClusterTransportError(target.remote_id, 'bad_response', 'the reply to /msg is not a Response envelope');
    return response;
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
    const reply = await this.post(target, concatenatedUrl(target.site_url, 'ping'), { remote_id: target.remote_id, msg }, this.options.pingTimeoutMs);
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
    const reply = await this.post(target, concatenatedUrl(target.site_url, 'confirm_invite'), { remote_id: target.remote_id, msg }, this.options.pingTimeoutMs);
    const response = parseResponse(this.json(reply.body));
    if (!response) throw new RemoteClusterTransportError(target.remote_id, 'bad_response', 'the reply to /confirm_invite is not a Response envelope');
    if (response.status !== RESPONSE_STATUS_OK) throw new RemoteClusterTransportError(target.remote_id, 'rejected', response.err || 'confirmation refused');
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

  private json(body: Buffer): unknown {
    try {
      return JSON.parse(body.toString('utf8'));
    } catch {
      return undefined;
    }
  }

  /** One frame POST with metrics. Non-200 is a failure (Mattermost ignores the body; we keep its error id for logs). */
  private async post(target: PeerTarget, url: URL, frame: RemoteClusterFrame, timeoutMs: number): Promise<RawReply> {
    const labels = { remote_id: target.remote_id };
    try {
      const reply = await this.exchange(target, url, Buffer.from(JSON.stringify(frame), 'utf8'), timeoutMs);
      if (reply.status !== 200) {
        throw new RemoteClusterTransportError(target.remote_id, 'http_status', `${url.pathname} answered ${reply.status}${this.describeAppError(reply.body)}`, reply.status);
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

  private describeAppError(body: Buffer): string {
    const parsed = this.json(body) as { id?: unknown; message?: unknown } | undefined;
    if (!parsed || typeof parsed.id !== 'string') return '';
    return `: ${parsed.id}${typeof parsed.message === 'string' ? ` (${parsed.message.slice(0, 200)})` : ''}`;
  }

  /**
   * The HTTP exchange under one deadline that covers waiting for a socket, sending and reading the reply.
   * A keep-alive socket the peer closed just as we reused it is retried once on a fresh one, as Node advises.
   */
  private async exchange(target: PeerTarget, url: URL, body: Buffer, timeoutMs: number): Promise<RawReply> {
    const deadline = Date.now() + timeoutMs;
    try {
      return await this.attempt(target, url, body, deadline);
    } catch (err) {
      if (err instanceof StaleSocketError && Date.now() < deadline) return this.attempt(target, url, body, deadline);
      throw err;
    }
  }

  private attempt(target: PeerTarget, url: URL, body: Buffer, deadline: number): Promise<RawReply> {
    const { remote_id: remoteId } = target;
    const max = this.options.maxResponseBytes;
    return new Promise<RawReply>((resolve, reject) => {
      let req: ReturnType<typeof httpRequest> | undefined;
      let settled = false;
      const finish = (err: Error | null, reply?: RawReply) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          req?.destroy();
          reject(err);
        } else {
          resolve(reply!);
        }
      };
      const timeoutMs = Math.max(1, deadline - Date.now());
      const timer = setTimeout(
        () => finish(new RemoteClusterTransportError(remoteId, 'timeout', `no complete reply from ${url.origin} within ${timeoutMs} ms`)),
        timeoutMs,
      );

      try {
        const headers: Record<string, string | number> = {
          'Content-Type': 'application/json',
          'Content-Length': body.length,
          Accept: 'application/json',
        };
        for (const h of REMOTE_CLUSTER_ID_HEADERS) headers[h] = remoteId;
        for (const h of REMOTE_CLUSTER_TOKEN_HEADERS) headers[h] = target.token;
        const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
        req = send(url, { method: 'POST', agent: this.agentFor(remoteId, url), headers }, (res: IncomingMessage) => {
          const declared = Number(res.headers['content-length']);
          if (Number.isFinite(declared) && declared > max) {
            finish(new RemoteClusterTransportError(remoteId, 'too_large', `reply of ${declared} bytes exceeds ${max}`));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
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
          const Failure = sent.reusedSocket && err.code === 'ECONNRESET' ? StaleSocketError : RemoteClusterTransportError;
          finish(new Failure(remoteId, 'network', `${url.origin}: ${err.code ?? err.message}`));
        });
        sent.end(body);
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
    };
    const agent = url.protocol === 'https:' ? new HttpsAgent(opts) : new HttpAgent(opts);
    this.agents.set(remoteId, { origin: url.origin, agent });
    this.logger.debug({ remote_id: remoteId, origin: url.origin }, 'new connection pool');
    return agent;
  }
}
