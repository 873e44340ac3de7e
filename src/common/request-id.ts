import type { IncomingMessage } from 'node:http';
import { newId } from './ids.js';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Accepts a caller's (or the load balancer's) request id when it is sane, otherwise makes one. */
export function requestIdFor(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  if (typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given)) return given;
  return newId();
}

export function getRequestId(req: unknown): string {
  return (req as { id?: string }).id ?? '';
}
