import { connect } from 'node:net';

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Declared Content-Length when it is not the body's (a body that stops early: the server must time it out). */
  declaredLength?: number;
}

export interface FuzzResponse {
  status: number;
  contentType: string;
  body: Buffer;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** Status, headers and body of the first HTTP/1.1 response in `raw`; null while it is incomplete. */
function parseResponse(raw: Buffer, closed: boolean): FuzzResponse | null {
  const headEnd = raw.indexOf(HEAD_END);
  if (headEnd < 0) return null;
  const lines = raw.subarray(0, headEnd).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0].slice(0, 80))}`);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const rest = raw.subarray(headEnd + 4);
  const status = Number(m[1]);
  const response = (body: Buffer): FuzzResponse => ({ status, contentType: headers.get('content-type') ?? '', body });
  // No body, whatever the headers say (RFC 9112 6.3).
  if (status === 204 || status === 304 || status < 200) return response(Buffer.alloc(0));
  const length = headers.get('content-length');
  if (length !== undefined) return rest.length >= Number(length) ? response(rest.subarray(0, Number(length))) : null;
  if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') {
    const chunks: Buffer[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = rest.indexOf('\r\n', at);
      if (lineEnd < 0) return null;
      const size = parseInt(rest.subarray(at, lineEnd).toString('latin1'), 16);
      if (size === 0) return response(Buffer.concat(chunks));
      if (rest.length < lineEnd + 2 + size + 2) return null;
      chunks.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
  return closed ? response(rest) : null;
}

/**
 * One request on a connection of its own, written as raw bytes (so headers Node's client would refuse can be sent
 * too). The response is read while the body is still being written: a server may answer early (a refusal) before
 * taking the whole body, which is an answer, not a failure. Rejects when the connection ends without a complete
 * response, or when nothing comes back within `deadlineMs`.
 */
export function send(base: string, r: FuzzRequest, deadlineMs: number): Promise<FuzzResponse> {
  const url = new URL(base);
  // Keep-alive, as browsers and peers send it: the server drains a body it refused instead of closing on it.
  const headers: Record<string, string> = { Host: url.host, ...r.headers };
  if (r.body !== undefined || r.declaredLength !== undefined) headers['Content-Length'] = String(r.declaredLength ?? r.body!.length);
  const head = `${r.method} ${r.path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return exchange(Number(url.port), Buffer.concat([Buffer.from(head, 'latin1'), r.body ?? Buffer.alloc(0)]), deadlineMs).then((res) => {
    if (typeof res === 'number') throw new Error('unreachable');
    return res;
  });
}

/** Raw bytes to the server; resolves with the status code of the response. */
export async function sendRaw(port: number, bytes: Buffer, deadlineMs: number): Promise<number> {
  return (await exchange(port, bytes, deadlineMs, true)) as number;
}

function exchange(port: number, bytes: Buffer, deadlineMs: number, statusOnly = false): Promise<FuzzResponse | number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let raw = Buffer.alloc(0);
    let settled = false;
    const timer = setTimeout(() => finish(new Error(`no answer within ${deadlineMs} ms`)), deadlineMs);
    function finish(err: Error | null, res?: FuzzResponse | number) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(res!);
    }
    const tryParse = (closed: boolean) => {
      try {
        if (statusOnly) {
          const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw.subarray(0, 64).toString('latin1'));
          if (m) return finish(null, Number(m[1]));
          if (closed) finish(new Error(`the connection closed without a status line (got ${JSON.stringify(raw.subarray(0, 60).toString('latin1'))})`));
          return;
        }
        const res = parseResponse(raw, closed);
        if (res) finish(null, res);
        else if (closed) finish(new Error(`the connection closed without a complete response (got ${raw.length} bytes)`));
      } catch (err) {
        finish(err as Error);
      }
    };
    // write, never end: a client's half-close makes Node's server abort the request instead of answering it.
    socket.on('connect', () => socket.write(bytes, () => undefined));
    socket.on('data', (d: Buffer) => {
      raw = Buffer.concat([raw, d]);
      tryParse(false);
    });
    // EPIPE or ECONNRESET while the body is still going out: the server answered early and closed; what it sent
    // before that is read as the answer.
    socket.on('error', () => tryParse(true));
    socket.on('close', () => tryParse(true));
  });
}
