import { applyDecorators, type CallHandler, type ExecutionContext, Injectable, type NestInterceptor, SetMetadata, UseInterceptors } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type Observable, tap } from 'rxjs';
import { AppError } from '../../../common/app-error.js';
import type { AuthenticatedRequest } from '../../auth/auth-context.js';
import { DeliveryTrace } from './delivery-trace.service.js';

const TRACE_TOPIC = 'mmfed:trace-topic';

/**
 * Journals every envelope a peer sends to this route (after the remote-cluster guard: only authenticated peers):
 * `topic` names what the route receives; without it the topic is the /msg frame's. The result is the Response's
 * status (OK, FAIL with its err) or the error the route answered with.
 */
export function TracedInbound(topic?: string): MethodDecorator {
  return applyDecorators(SetMetadata(TRACE_TOPIC, topic ?? null), UseInterceptors(InboundTraceInterceptor));
}

@Injectable()
export class InboundTraceInterceptor implements NestInterceptor {
  constructor(
    private readonly trace: DeliveryTrace,
    private readonly reflector: Reflector,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = ctx.switchToHttp().getRequest<AuthenticatedRequest & { body?: unknown; headers: Record<string, unknown> }>();
    const remoteId = req.remote?.remoteId;
    if (!remoteId) return next.handle();
    const at = Date.now();
    const msg = (req.body as { msg?: { id?: unknown; topic?: unknown; payload?: unknown } } | undefined)?.msg;
    const fixed = this.reflector.get<string | null>(TRACE_TOPIC, ctx.getHandler());
    const topic = fixed ?? (typeof msg?.topic === 'string' && msg.topic ? msg.topic : 'msg');
    const base = {
      direction: 'in' as const,
      remote_id: remoteId,
      topic,
      msg_id: typeof msg?.id === 'string' ? msg.id : undefined,
      payload: fixed ? undefined : msg?.payload,
      bytes: Number(req.headers['content-length']) || 0,
      at,
    };
    return next.handle().pipe(
      tap({
        next: (value) => {
          const res = value as { status?: unknown; err?: unknown } | undefined;
          const failed = !fixed && res?.status !== undefined && res.status !== 'OK';
          this.trace.envelope({
            ...base,
            duration_ms: Date.now() - at,
            result: failed ? 'fail' : 'ok',
            status: 200,
            reason: failed && typeof res?.err === 'string' ? res.err : undefined,
          });
        },
        error: (err: unknown) => {
          this.trace.envelope({
            ...base,
            duration_ms: Date.now() - at,
            result: 'error',
            status: err instanceof AppError ? err.statusCode : 500,
            reason: err instanceof AppError ? `${err.id}: ${err.message}` : 'internal error',
          });
        },
      }),
    );
  }
}
