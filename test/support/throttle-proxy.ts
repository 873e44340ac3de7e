import { createServer, connect, type Server, type Socket } from 'node:net';
import { Transform } from 'node:stream';

/**
 * A TCP proxy in front of a test server, standing in for a slow or broken network: it can slow the bytes flowing
 * to the server down to a rate, count them, and cut every connection at once. Nothing of the servers is mocked.
 */
export class ThrottleProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private targetPort = 0;
  /** Bytes per second towards the target; null = as fast as the sockets go. */
  rate: number | null = null;
  /** Bytes forwarded to the target since the last reset. */
  bytesUp = 0;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<void> {
    this.server = createServer((client) => this.relay(client));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as { port: number }).port;
  }

  target(port: number): void {
    this.targetPort = port;
  }

  /** Destroys every open connection, in both directions, mid-transfer. */
  cutAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private relay(client: Socket): void {
    const upstream = connect(this.targetPort, '127.0.0.1');
    this.sockets.add(client);
    this.sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    const self = this;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        self.bytesUp += chunk.length;
        const rate = self.rate;
        if (!rate) return done(null, chunk);
        setTimeout(() => done(null, chunk), (chunk.length / rate) * 1000);
      },
    });
    client.pipe(meter).pipe(upstream);
    upstream.pipe(client);
  }
}
