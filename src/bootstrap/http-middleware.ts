import type { NextFunction, Request, RequestHandler, Response } from 'express';
import express from 'express';
import type { Logger as PinoLogger } from 'pino';
import { pinoHttp } from 'pino-http';
import { AppError } from '../common/app-error.js';
import { sendAppError, toAppError } from '../common/app-error.filter.js';
import { getRequestId, REQUEST_ID_HEADER, requestIdFor } from '../common/request-id.js';
import type { MetricsService } from '../metrics/metrics.service.js';

/** Largest JSON body accepted: a full 100-post sync batch of maximum-length messages fits. */
export const MAX_JSON_BODY_BYTES = 16 * 1024 * 1024;

/**
 * Once the server has stopped listening (shutdown), every response closes its connection. Node's server.close()
 * waits for open connections, and a peer that keeps reusing a keep-alive socket (pings every few hundred ms) would
 * otherwise be served on it indefinitely and hold the shutdown open.
 */
export function closeConnectionsWhenStopping(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const server = (req.socket as { server?: { listening?: boolean } }).server;
    if (server && !server.listening) res.setHeader('Connection', 'close');
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

/** JSON bodies up to MAX_JSON_BODY_BYTES; a malformed or oversized body is an AppError, never a 500. */
export function jsonBody(): RequestHandler {
  const parse = express.json({ limit: MAX_JSON_BODY_BYTES, type: ['application/json', 'application/*+json'] });
  return (req: Request, res: Response, next: NextFunction) => {
    parse(req, res, (err?: unknown) => {
      if (err) {
        const appError = err instanceof AppError ? err : toAppError(err);
        sendAppError(res, appError, getRequestId(req));
        return;
      }
      next();
    });
  };
}
