import type { WebSocket } from 'ws';
import type { AuthContext } from '../auth/auth-context.js';
import { isSystemAdmin } from '../auth/permissions.js';
import type { EncodedEvent } from './websocket-event.js';

/** The authenticated session behind a connection (kept to re-check it, and for permission checks of actions). */
export interface ConnSession {
  auth: AuthContext;
  token: string;
}

/** What became of an event handed to a connection. */
export type PushResult =
  /** Written to the socket. */
  | 'sent'
  /** No socket right now: kept for the client to resume. */
  | 'kept'
  /** Written, but the socket's unsent bytes passed the cap: the client is too slow and must be dropped. */
  | 'slow'
  /** No socket, and the buffer no longer reaches back to where the client left: it can never resume. */
  | 'lost';

export type ResumeResult = 'lossless' | 'resumed' | 'gap';

/**
 * One client connection's state, which outlives its socket for a while: Mattermost's WebConn with its dead queue.
 * Every event gets the connection's next sequence number and a slot in a ring of the last `capacity` events (a
 * reference to the shared encoded event, not a copy), whether a socket is attached or not. A client that comes
 * back with `connection_id` and the `sequence_number` it expects next gets everything from there on, provided the
 * ring still reaches back that far; otherwise it gets a fresh connection id and hello, and refetches.
 */
export class WebConn {
  socket: WebSocket | null = null;
  /** Sequence number of the next event. */
  nextSeq = 0;
  lastSeenAt = Date.now();
  detachedAt = 0;
  private readonly ring: Array<EncodedEvent | undefined> = [];
  /** Events in the ring: seqs nextSeq - stored .. nextSeq - 1. */
  private stored = 0;
  /** nextSeq when the socket went away: the earliest point a client could ask to resume from. */
  private seqAtDetach = 0;

  constructor(
    public connectionId: string,
    public session: ConnSession,
    private readonly capacity: number,
    private readonly sendLimitBytes: number,
  ) {}

  get userId(): string {
    return this.session.auth.userId;
  }

  get isSystemAdmin(): boolean {
    return isSystemAdmin(this.session.auth.roles);
  }

  /** The oldest sequence number still in the ring. */
  get oldestSeq(): number {
    return this.nextSeq - this.stored;
  }

  push(ev: EncodedEvent): PushResult {
    const seq = this.nextSeq++;
    this.ring[seq % this.capacity] = ev;
    if (this.stored < this.capacity) this.stored++;
    if (!this.socket) return this.nextSeq - this.seqAtDetach > this.capacity ? 'lost' : 'kept';
    return this.write(ev, seq);
  }

  private write(ev: EncodedEvent, seq: number): 'sent' | 'slow' {
    const socket = this.socket!;
    socket.send(ev.frame(seq, this.userId));
    return socket.bufferedAmount > this.sendLimitBytes ? 'slow' : 'sent';
  }

  attach(socket: WebSocket): void {
    this.socket = socket;
    this.lastSeenAt = Date.now();
    this.detachedAt = 0;
  }

  detach(): void {
    this.socket = null;
    this.seqAtDetach = this.nextSeq;
    this.detachedAt = Date.now();
  }

  /**
   * A client that expects `next` as its next sequence number, on a new socket. Lossless when nothing was sent
   * since; resumed (the missed events are written now) when the ring still holds `next`; a gap otherwise, and then
   * nothing is attached.
   */
  resume(socket: WebSocket, next: number): { result: ResumeResult; slow: boolean } {
    if (next === this.nextSeq) {
      this.attach(socket);
      return { result: 'lossless', slow: false };
    }
    if (!Number.isSafeInteger(next) || next < this.oldestSeq || next > this.nextSeq) return { result: 'gap', slow: false };
    this.attach(socket);
    let slow = false;
    for (let seq = next; seq < this.nextSeq; seq++) slow = this.write(this.ring[seq % this.capacity]!, seq) === 'slow';
    return { result: 'resumed', slow };
  }

  /** Starts over under a new connection id: sequence 0, empty ring (the caller then pushes a hello). */
  reset(connectionId: string): void {
    this.connectionId = connectionId;
    this.nextSeq = 0;
    this.stored = 0;
    this.seqAtDetach = 0;
    this.ring.length = 0;
  }
}
