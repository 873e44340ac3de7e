import http from 'node:http';

export interface HttpResult<T = any> {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: T;
  text: string;
}

export class HttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly text: string,
  ) {
    super(message);
  }
}

/**
 * A small JSON client over node:http with a keep-alive pool: the load generator shares two cores with the
 * servers, so it uses the cheapest client Node has (fetch/undici costs noticeably more per request).
 */
export class HttpClient {
  private readonly agent: http.Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(
    readonly baseUrl: string,
    maxSockets = 64,
  ) {
    const u = new URL(baseUrl);
    this.host = u.hostname;
    this.port = Number(u.port || 80);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, keepAliveMsecs: 10_000 });
  }

  request<T = any>(method: string, path: string, opts: { token?: string; body?: unknown; timeoutMs?: number } = {}): Promise<HttpResult<T>> {
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: http.OutgoingHttpHeaders = { Accept: 'application/json' };
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = payload.length;
    }
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    const timeoutMs = opts.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const req = http.request({ host: this.host, port: this.port, method, path, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          if ((res.headers['content-type'] ?? '').startsWith('application/json') && text) {
            try {
              body = JSON.parse(text);
            } catch {
              body = text;
            }
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: body as T, text });
        });
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${this.baseUrl}${path}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** The body when the status is the expected one (any 2xx when not given); a clear error otherwise. */
  async ok<T = any>(method: string, path: string, opts: { token?: string; body?: unknown; timeoutMs?: number; status?: number } = {}): Promise<T> {
    const res = await this.request<T>(method, path, opts);
    const good = opts.status ? res.status === opts.status : res.status >= 200 && res.status < 300;
    if (!good) throw new HttpError(`${method} ${this.baseUrl}${path}: HTTP ${res.status} ${res.text.slice(0, 500)}`, res.status, res.text);
    return res.body;
  }

  close(): void {
    this.agent.destroy();
  }
}
