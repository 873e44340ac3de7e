import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * An HTTP reverse proxy in front of a test server that refuses request bodies above `limit` bytes with 413, as
 * nginx's client_max_body_size or Mattermost's MaximumPayloadSizeBytes do. Everything else is passed through.
 */
export class BodyLimitProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private targetPort = 0;
  /** Largest request body passed on; null = no limit. */
  limit: number | null = null;
  /** Requests answered 413 since the start. */
  refused = 0;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as { port: number }).port;
  }

  target(port: number): void {
    this.targetPort = port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const length = Number(req.headers['content-length'] ?? 0);
    if (this.limit !== null && length > this.limit) {
      this.refused++;
      req.resume();
      const body = JSON.stringify({ id: 'api.context.request_body_too_large', message: 'Request Entity Too Large', detailed_error: '', request_id: '', status_code: 413 });
      res.writeHead(413, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
      res.end(body);
      return;
    }
    const upstream = request(
      { host: '127.0.0.1', port: this.targetPort, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }
}
