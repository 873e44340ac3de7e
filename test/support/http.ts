import { TEST_ADMIN, type Instance } from './instance.js';

export interface HttpResult<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** A raw HTTP call; the body is parsed when it is JSON. */
export async function http<T = any>(
  inst: Instance | string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; rawBody?: string | Buffer; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<HttpResult<T>> {
  const base = typeof inst === 'string' ? inst : inst.url;
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  let body: string | Buffer | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const res = await fetch(base + path, { method, headers, body, signal: opts.signal });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').startsWith('application/json') && text) parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

export async function login(inst: Instance, loginId = TEST_ADMIN.username, password = TEST_ADMIN.password): Promise<string> {
  const res = await http(inst, 'POST', '/api/v4/users/login', { body: { login_id: loginId, password } });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.text}`);
  return res.headers.get('token')!;
}
