// A steady load of chat clients going through the load balancer, recording what each request got.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Outcome {
  client: number;
  method: 'GET' | 'POST';
  /** The X-Request-Id the client sent (nginx logs it with the replica it used). */
  rid: string;
  /** HTTP status, 0 when the request failed without one (connection error, timeout). */
  status: number;
  startedAt: number;
  endedAt: number;
  message?: string;
  postId?: string;
}

export interface LoadClient {
  token: string;
}

/**
 * `clients` users, each sending one request at a time: two posts into the shared channel, then an idempotent read
 * of it, with a short pause between requests. No client-side retries: what a client sees is what it got.
 */
export class ChatLoad {
  readonly outcomes: Outcome[] = [];
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly url: string,
    private readonly clients: LoadClient[],
    private readonly channelId: string,
    /** Prefixes messages and request ids, one per scenario. */
    readonly tag: string,
    private readonly pauseMs = 40,
  ) {}

  start(): void {
    this.running = true;
    this.loops = this.clients.map((c, i) => this.loop(c, i));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(client: LoadClient, i: number): Promise<void> {
    for (let seq = 1; this.running; seq++) {
      if (seq % 3 === 0) await this.send(i, seq, 'GET', `/api/v4/channels/${this.channelId}/posts?per_page=10`, client.token);
      else await this.send(i, seq, 'POST', '/api/v4/posts', client.token, `${this.tag}-${i}-${seq}`);
      await new Promise((r) => setTimeout(r, this.pauseMs));
    }
  }

  private async send(client: number, seq: number, method: 'GET' | 'POST', path: string, token: string, message?: string): Promise<void> {
    const rid = `${this.tag}${client}x${seq}`;
    const startedAt = Date.now();
    let status = 0;
    let postId: string | undefined;
    try {
      const res = await fetch(`${this.url}${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, 'X-Request-Id': rid, ...(message ? { 'Content-Type': 'application/json' } : {}) },
        body: message ? JSON.stringify({ channel_id: this.channelId, message }) : undefined,
        signal: AbortSignal.timeout(60_000),
      });
      status = res.status;
      const text = await res.text();
      if (message && res.ok) postId = (JSON.parse(text) as { id: string }).id;
    } catch {
      // No status: a connection error or a timeout (status stays 0).
    }
    this.outcomes.push({ client, method, rid, status, startedAt, endedAt: Date.now(), message, postId });
  }

  /** Posts the client saw accepted (2xx). */
  accepted(): Outcome[] {
    return this.outcomes.filter((o) => o.method === 'POST' && o.status >= 200 && o.status < 300);
  }

  failures(): Outcome[] {
    return this.outcomes.filter((o) => o.status < 200 || o.status >= 300);
  }

  /** Waits until `n` more posts were accepted than when it was called. */
  async acceptMore(n: number, timeoutMs = 120_000): Promise<void> {
    const target = this.accepted().length + n;
    const deadline = Date.now() + timeoutMs;
    while (this.accepted().length < target) {
      if (Date.now() > deadline) throw new Error(`only ${this.accepted().length} of ${target} posts accepted; failures: ${JSON.stringify(this.failures().slice(-5))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export interface AccessLine {
  rid: string;
  status: number;
  /** Every replica nginx tried, in order ("127.0.0.1:1234"). */
  upstreams: string[];
  upstreamStatuses: string[];
}

/** nginx's access log (deploy/nginx's `mmfed` format) for the requests of one scenario. */
export function accessLog(prefix: string, tag: string): AccessLine[] {
  const lines = readFileSync(join(prefix, 'access.log'), 'utf8').split('\n');
  const out: AccessLine[] = [];
  for (const line of lines) {
    const m = / (\d{3}) \d+ [\d.]+ rid=(\S+) upstream=(.*) upstream_status=(.*)$/.exec(line);
    if (!m || !m[2].startsWith(tag)) continue;
    out.push({
      status: Number(m[1]),
      rid: m[2],
      upstreams: m[3].split(/[,:]\s+/).map((s) => s.trim()).filter((s) => s && s !== '-'),
      upstreamStatuses: m[4].split(/[,:]\s+/).map((s) => s.trim()),
    });
  }
  return out;
}
