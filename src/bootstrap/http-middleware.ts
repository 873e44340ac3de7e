import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger as PinoLogger } from 'pino';
import { pinoHttp } from 'pino-http';
import { AppError } from '../common/app-error.js';
import { sendAppError } from '../common/app-error.filter.js';
import { getRequestId, REQUEST_ID_HEADER, requestIdFor } from '../common/request-id.js';
import type { MetricsService } from '../metrics/metrics.service.js';

/**
 * While the replica drains (SIGTERM, before it stops listening) and once it has stopped listening, every response
 * closes its connection: a client or balancer holding a keep-alive socket opens its next connection elsewhere.
 * Node's server.close() waits for open connections, and a peer that keeps reusing a keep-alive socket (pings every
 * few hundred ms) would otherwise be served on it indefinitely and hold the shutdown open.
 */
export function closeConnectionsWhenStopping(draining: () => boolean = () => false): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const server = (req.socket as { server?: { listening?: boolean } }).server;
    if (draining() || (server && !server.listening)) res.setHeader('Connection', 'close');
    next();
  };
}

/** Structured access log with a request id, echoed back in X-Request-Id. */
export function requestLogging(logger: PinoLogger): RequestHandler {
  return pinoHttp({
    logger,
    genReqId: (req, res) => {
      const id = requestIdFor(req);
      res.setHeader(REQUEST_ID_HEADER, id);
      return id;
    },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    serializers: {
      req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url.split('?')[0] }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  }) as unknown as RequestHandler;
}

/**
 * Mattermost's JS client parses a body as JSON only when Content-Type is exactly `application/json`;
 * Express would append `; charset=utf-8`, so JSON bodies are sent as bytes with the bare type.
 */
export function exactJsonContentType(): RequestHandler {
  return (_req: Request, res: Response, next: NextFunction) => {
    res.json = function json(this: Response, body: unknown): Response {
      const text = JSON.stringify(body);
      this.setHeader('Content-Type', 'application/json');
      return this.send(Buffer.from(text === undefined ? 'null' : text, 'utf8'));
    };
    next();
  };
}

export function httpMetrics(metrics: MetricsService): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const end = metrics.httpDuration.startTimer();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? (res.statusCode === 404 ? 'unmatched' : 'other');
      const labels = { method: req.method, route: `${req.baseUrl}${route}` };
      end(labels);
      metrics.httpRequests.inc({ ...labels, status: String(res.statusCode) });
    });
    next();
  };
}

/**
 * Compressed request bodies are refused with 415: a few KB of gzip or brotli inflate to megabytes, and no client or
 * peer of this server sends them (Mattermost's neither). JSON bodies are parsed later, per route, after the guards
 * (common/json-body.ts); uploads are streamed by their routes.
 */
export function refuseEncodedBodies(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const encoding = req.headers['content-encoding'];
    if (encoding === undefined || encoding.trim().toLowerCase() === 'identity') return next();
    // The body is read and dropped (Node drains it after the answer), never inflated.
    sendAppError(
      res,
      new AppError('api.context.unsupported_media_type.app_error', 'Compressed request bodies are not accepted.', 415, `Content-Encoding: ${encoding.slice(0, 64)}`),
      getRequestId(req),
    );
  };
}

/**
 * A client or peer whose connection carries nothing for `idleMs` (the server's socket timeout) while its request
 * body is still coming gets one 408 and the connection is closed; whoever was reading the body sees it end early and
 * drops what it had (a partial upload file included). Without this a stalled body would hold its reader until Node's
 * 5-minute request timeout. A client that stops taking its response is cut off the same way. While the handler is
 * still working (waiting on a peer, or for a database connection) the connection stays: those waits have deadlines
 * of their own, and the client gets their answer.
 */
export function answerStalledBodies(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    // The request itself is destroyed, not only its socket: once its response has finished, Node no longer ties the
    // request to the connection, so closing the socket alone would leave whoever reads the body (an upload holding
    // its session's lease and a partial file) waiting for bytes that never come.
    const cutOff = () => {
      req.destroy();
      req.socket.destroy();
    };
    req.on('timeout', () => {
      if (!res.headersSent) {
        res.setHeader('Connection', 'close');
        sendAppError(res, new AppError('api.context.request_timeout.app_error', 'The request body stopped arriving.', 408), getRequestId(req));
        res.on('finish', cutOff);
      } else {
        cutOff();
      }
    });
    res.on('timeout', () => {
      if (res.headersSent) req.socket.destroy();
    });
    next();
  };
}

/** A server's 'connect' listener: this is no proxy, so CONNECT is 405 and the connection closes. */
export function refuseConnectMethod(_req: IncomingMessage, socket: Duplex): void {
  socket.on('error', () => undefined);
  socket.end('HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
}
