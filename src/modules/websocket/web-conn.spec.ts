import type { WebSocket } from 'ws';
import { WebConn } from './web-conn.js';
import { broadcast, EncodedEvent } from './websocket-event.js';

/** What WebConn uses of a socket: send() and the bytes still queued. */
class RecordingSocket {
  readonly frames: Array<{ seq: number; n: number }> = [];
  bufferedAmount = 0;
  send(frame: string): void {
    const parsed = JSON.parse(frame) as { seq: number; data: { n: number } };
    this.frames.push({ seq: parsed.seq, n: parsed.data.n });
  }
}

const ev = (n: number) => new EncodedEvent({ event: 'posted', data: { n }, broadcast: broadcast({ channel_id: 'town' }) });
const session = { auth: { userId: 'alice', sessionId: 's', roles: 'system_user', isAccessToken: false }, token: 't' };

function conn(capacity = 4, sendLimit = 1_000): { c: WebConn; socket: RecordingSocket } {
  const c = new WebConn('conn-1', session, capacity, sendLimit);
  const socket = new RecordingSocket();
  c.attach(socket as unknown as WebSocket);
  return { c, socket };
}

describe('WebConn: sequence numbers, the resume ring and the send cap', () => {
  it('numbers events from 0 and writes them while a socket is attached', () => {
    const { c, socket } = conn();
    expect([c.push(ev(0)), c.push(ev(1))]).toEqual(['sent', 'sent']);
    expect(socket.frames).toEqual([
      { seq: 0, n: 0 },
      { seq: 1, n: 1 },
    ]);
  });

  it('keeps what arrives while detached and replays it from the sequence number the client expects', () => {
    const { c } = conn(4);
    c.push(ev(0));
    c.push(ev(1));
    c.detach();
    expect([c.push(ev(2)), c.push(ev(3))]).toEqual(['kept', 'kept']);
    const again = new RecordingSocket();
    // The client had seen seq 0 only (1 was lost in flight): it asks for 1 and gets 1, 2, 3.
    expect(c.resume(again as unknown as WebSocket, 1)).toEqual({ result: 'resumed', slow: false });
    expect(again.frames.map((f) => f.seq)).toEqual([1, 2, 3]);
    expect(c.push(ev(4))).toBe('sent');
    expect(again.frames.map((f) => f.seq)).toEqual([1, 2, 3, 4]);
  });

  it('is lossless when nothing was missed, and a gap when the ring no longer reaches back (or the client is ahead)', () => {
    const { c } = conn(4);
    for (let i = 0; i < 6; i++) c.push(ev(i));
    c.detach();
    expect(c.resume(new RecordingSocket() as unknown as WebSocket, 6).result).toBe('lossless');
    c.detach();
    expect(c.resume(new RecordingSocket() as unknown as WebSocket, 1).result).toBe('gap');
    expect(c.resume(new RecordingSocket() as unknown as WebSocket, 9).result).toBe('gap');
    expect(c.resume(new RecordingSocket() as unknown as WebSocket, 2).result).toBe('resumed');
  });

  it('reports a detached connection lost once even its last delivered event has left the ring', () => {
    const { c } = conn(4);
    c.push(ev(0));
    c.detach();
    const results = Array.from({ length: 5 }, (_, i) => c.push(ev(i + 1)));
    expect(results).toEqual(['kept', 'kept', 'kept', 'kept', 'lost']);
  });

  it('reports a socket whose unsent bytes pass the cap as slow', () => {
    const { c, socket } = conn(4, 100);
    expect(c.push(ev(0))).toBe('sent');
    socket.bufferedAmount = 101;
    expect(c.push(ev(1))).toBe('slow');
  });

  it('starts over under a new id at sequence 0', () => {
    const { c, socket } = conn(4);
    c.push(ev(0));
    c.push(ev(1));
    c.reset('conn-2');
    expect(c.connectionId).toBe('conn-2');
    c.push(ev(9));
    expect(socket.frames.at(-1)).toEqual({ seq: 0, n: 9 });
    expect(c.oldestSeq).toBe(0);
  });
});
