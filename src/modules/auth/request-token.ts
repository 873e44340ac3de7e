import type { IncomingHttpHeaders } from 'node:http';
import type { CookieOptions, Request } from 'express';

export const SESSION_COOKIE = 'MMAUTHTOKEN';

/**
 * The session cookie's attributes: never readable by scripts, not sent on cross-site subrequests, and `Secure`
 * whenever the request came over TLS, directly or (with TRUST_PROXY) as the load balancer's X-Forwarded-Proto says.
 */
export function sessionCookieOptions(req: Pick<Request, 'secure'>, path: string): CookieOptions {
  return { httpOnly: true, sameSite: 'lax', secure: req.secure, path };
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/**
 * Mattermost's token extraction order: Authorization (Bearer or Token, scheme case-insensitive), the MMAUTHTOKEN
 * cookie, then the access_token query parameter. Only pass `query` where a browser cannot send a header (Bull
 * Board links): a token in a URL ends up in proxy logs, browser history and Referer headers.
 */
export function extractClientToken(headers: IncomingHttpHeaders, query: Record<string, unknown> = {}): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const match = /^(?:bearer|token)\s+(\S+)\s*$/i.exec(auth);
    if (match) return match[1];
  }
  const cookie = cookieValue(headers.cookie, SESSION_COOKIE);
  if (cookie) return cookie;
  const q = query.access_token;
  return typeof q === 'string' && q ? q : undefined;
}

export const REMOTE_ID_HEADERS = ['x-mm-remotecluster-id', 'x-remotecluster-id'] as const;
export const REMOTE_TOKEN_HEADERS = ['x-mm-remotecluster-token', 'x-remotecluster-token'] as const;

function firstHeader(headers: IncomingHttpHeaders, names: readonly string[]): string | undefined {
  for (const name of names) {
    const v = headers[name];
    if (typeof v === 'string' && v) return v;
  }
  return undefined;
}

/** Our own X-MM-RemoteCluster-* spelling or Mattermost's X-RemoteCluster-*: either is accepted. */
export function extractRemoteCredentials(headers: IncomingHttpHeaders): { remoteId?: string; token?: string } {
  return { remoteId: firstHeader(headers, REMOTE_ID_HEADERS), token: firstHeader(headers, REMOTE_TOKEN_HEADERS) };
}
