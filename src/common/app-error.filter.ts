import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AppError, type AppErrorBody } from './app-error.js';
import { getRequestId } from './request-id.js';
import { isDataException, isDatabaseUnavailable, isPoolTimeout, pgErrorCode } from './pg-errors.js';

/** Retry-After of a 503 for load: long enough for a burst to drain, short enough not to matter to a client. */
const BUSY_RETRY_AFTER_SECONDS = 2;

const HTTP_IDS: Record<number, [string, string]> = {
  400: ['api.context.invalid_body_param.app_error', 'Invalid request.'],
  401: ['api.context.session_expired.app_error', 'Invalid or expired session, please login again.'],
  403: ['api.context.permissions.app_error', 'You do not have the appropriate permissions.'],
  404: ['api.context.404.app_error', 'Sorry, we could not find the page.'],
  405: ['api.context.405.app_error', 'Method not allowed.'],
  413: ['api.context.request_body_too_large.app_error', 'The request body is too large.'],
  415: ['api.context.unsupported_media_type.app_error', 'Unsupported media type.'],
  429: ['api.context.rate_limited.app_error', 'Too many requests, please try again later.'],
};

/** Errors thrown by Express middleware (body-parser, multer) carry a status and a type. */
interface HttpishError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
  message?: string;
}

/** Maps anything thrown to Mattermost's AppError; one place for every status mapping. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const [id, message] = HTTP_IDS[status] ?? ['api.context.http_error.app_error', err.message];
    return new AppError(id, message, status, status < 500 ? err.message : '');
  }
  const e = err as HttpishError;
  const status = e?.status ?? e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500 && e.expose !== false) {
    if (e.type === 'entity.parse.failed') return new AppError('api.unmarshal_error', 'Unable to parse the request body as JSON.', 400, e.message ?? '');
    const [id, message] = HTTP_IDS[status] ?? ['api.context.http_error.app_error', 'Invalid request.'];
    return new AppError(id, message, status, e.message ?? '');
  }
  // PostgreSQL refusing connections or cancelling for load, or no pooled connection free within
  // DATABASE_POOL_TIMEOUT_MS, is the server being busy, not the request being bad: 503, try again in a moment.
  const pgCode = pgErrorCode(e);
  if (pgCode === '53300' || pgCode === '57P03' || isPoolTimeout(e)) {
    return new AppError('app.server_busy', 'The server is busy; try again shortly.', 503, '', BUSY_RETRY_AFTER_SECONDS);
  }
  // PostgreSQL gone (restarting, failing over, unreachable): 503, so a balancer passes idempotent requests on and
  // clients retry, instead of a 500 that reads as a bug in the request's handling.
  if (isDatabaseUnavailable(e)) {
    return new AppError('app.database_unavailable', 'The database is unavailable; try again shortly.', 503, '', BUSY_RETRY_AFTER_SECONDS);
  }
  // SQLSTATE class 22 (data exception) is the request's data that the database cannot store: a NUL character in
  // text or JSON, a value out of range. Validation lets a few such values through; they are the client's error.
  if (isDataException(e)) {
    const detail = (e as { message?: string })?.message ?? '';
    return new AppError('api.context.invalid_body_param.app_error', 'The request contains a value that cannot be stored.', 400, detail);
  }
  return new AppError('app.internal_error', 'An internal error occurred. Quote the request id when reporting it.', 500);
}

export function appErrorBody(err: AppError, requestId: string): AppErrorBody {
  return { id: err.id, message: err.message, detailed_error: err.detailedError, request_id: requestId, status_code: err.statusCode };
}

export function sendAppError(res: Response, err: AppError, requestId: string): void {
  if (res.headersSent) return;
  if (err.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(err.retryAfterSeconds))));
  res.status(err.statusCode).json(appErrorBody(err, requestId));
}

@Catch()
export class AppErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('AppErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request>();
    const res = ctx.getResponse<Response>();
    const appError = toAppError(exception);
    const requestId = getRequestId(req);
    if (appError.statusCode >= 500) {
      this.logger.error({ err: exception, request_id: requestId, method: req.method, url: req.originalUrl }, 'unhandled error');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendAppError(res, appError, requestId);
  }
}
