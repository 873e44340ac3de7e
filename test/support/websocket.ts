import { WebSocketClient, type WebSocketMessage } from '@mattermost/client';
import { WebSocket } from 'ws';
import { eventually } from './eventually.js';
import type { Instance } from './instance.js';

// @mattermost/client's WebSocketClient uses the browser's WebSocket and CloseEvent globals; Node 20 has neither.
const g = globalThis as Record<string, unknown>;
g.WebSocket ??= WebSocket;
g.CloseEvent ??= class CloseEvent extends Event {
  readonly code: number;
  readonly wasClean: boolean;
  constructor(type: string, init: { code?: number; wasClean?: boolean } = {}) {
    super(type);
    this.code = init.code ?? 0;
    this.wasClean = init.wasClean ?? false;
  }
};

// The client narrates every connect and close on console.log; the tests' output stays readable without it.
const log = console.log.bind(console);
console.log = (...args: unknown[]) => {
  const first = args[0];
  if (typeof first === 'string' && /^(?:websocket|got connection id|long timeout|missed websocket event|ping received)/.test(first)) return;
  // Error replies, which the tests check themselves, and connection errors while a server is down on purpose.
  if (first && typeof first === 'object' && ('seq_reply' in first || first instanceof Event || first.constructor?.name === 'ErrorEvent')) return;
  log(...args);
};

export function wsUrl(inst: Instance): string {
  return `${inst.url.replace(/^http/, 'ws')}/api/v4/websocket`;
}

/** A Mattermost WebSocketClient connected to `inst` as `token`'s user, recording every event it receives. */
export class WsSession {
  readonly client: WebSocketClient;
  readonly events: WebSocketMessage[] = [];
  /** Times the client saw a hello with a new connection id (it would refetch everything). */
  missed = 0;
  reconnects = 0;
  private held = false;

  constructor(
    readonly inst: Instance,
    readonly token: string,
    opts: { headers?: Record<string, string> } = {},
  ) {
    this.client = new WebSocketClient({
      // Reconnect at once after a drop, with no growing backoff: the tests wait on events, not on timers.
      minWebSocketRetryTime: 50,
      maxWebSocketFails: Number.MAX_SAFE_INTEGER,
      reconnectJitterRange: 1,
      clientPingInterval: 60_000,
      // While held, every reconnection attempt goes to a closed loopback port and fails at once, so the client keeps
      // its connection id and sequence number and retries until released.
      newWebSocketFn: (url: string) => (this.held ? new WebSocket('ws://127.0.0.1:9/') : new WebSocket(url, { headers: opts.headers })) as never,
    });
    this.client.addMessageListener((msg) => this.events.push(msg));
    this.client.addMissedMessageListener(() => this.missed++);
    this.client.addReconnectListener(() => this.reconnects++);
  }

  /** Opens the socket (authentication_challenge with the token unless `challenge` is false) and waits for hello. */
  async open(challenge = true): Promise<string> {
    this.client.initialize(wsUrl(this.inst), challenge ? this.token : undefined);
    const hello = await this.next('hello');
    return (hello.data as { connection_id: string }).connection_id;
  }

  /** Keeps the client from reconnecting (after a drop) until release(). */
  hold(): void {
    this.held = true;
  }

  release(): void {
    this.held = false;
  }

  /** Events of this name received so far. */
  named(event: string): WebSocketMessage[] {
    return this.events.filter((e) => e.event === event);
  }

  /** Waits for the first event of this name (after `from` events) matching `pred`. */
  async next(event: string, pred: (msg: WebSocketMessage) => boolean = () => true, timeoutMs = 10_000, from = 0): Promise<WebSocketMessage> {
    return eventually(() => {
      const hit = this.events.slice(from).find((e) => e.event === event && pred(e));
      if (!hit) throw new Error(`no ${event} event yet on ${this.inst.name}; got ${this.events.map((e) => e.event).join(', ') || 'nothing'}`);
      return hit;
    }, { timeoutMs, intervalMs: 20 });
  }

  /** The underlying socket (the client keeps it private). */
  get socket(): WebSocket | null {
    return (this.client as unknown as { conn: WebSocket | null }).conn;
  }

  get connectionId(): string {
    return (this.client as unknown as { connectionId: string }).connectionId;
  }

  /** Sends an action and resolves with the server's reply (seq_reply). */
  request(action: string, data: unknown): Promise<{ status: string; seq_reply: number; data?: any; error?: any }> {
    return new Promise((resolve) => this.client.sendMessage(action, data, resolve as never));
  }

  /** Closes for good, also a socket still connecting (the client's own close() leaves that one to reconnect later). */
  close(): void {
    const c = this.client as unknown as { conn: WebSocket | null };
    const sock = c.conn;
    if (sock) {
      sock.onclose = null;
      sock.onmessage = null;
      sock.onopen = null;
      sock.on('error', () => undefined);
      sock.terminate();
    }
    c.conn = null;
    this.client.close();
  }
}

/** The post inside a posted / post_edited / post_deleted event (Mattermost sends it as JSON text). */
export function postOf(msg: WebSocketMessage): { id: string; message: string; channel_id: string; delete_at: number; user_id: string; type: string } {
  return JSON.parse((msg.data as { post: string }).post);
}

/** A raw `ws` socket to the endpoint, for what the client library does not expose (headers, close codes). */
export function rawSocket(inst: Instance, opts: { headers?: Record<string, string>; query?: string } = {}): Promise<{ ws: WebSocket; frames: any[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${wsUrl(inst)}${opts.query ?? ''}`, { headers: opts.headers });
    const frames: any[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(data.toString())));
    ws.once('open', () => resolve({ ws, frames }));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

/** Resolves with the close code once the socket closes. */
export function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => {
    if (ws.readyState === ws.CLOSED) return resolve(1006);
    ws.once('close', (code) => resolve(code));
  });
}
