import type { IncomingMessage, ServerResponse } from 'node:http';
import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor, SetMetadata } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import express from 'express';
import { from, type Observable, switchMap } from 'rxjs';

/** Largest JSON body of the client API (and of every route that does not say otherwise). */
export const CLIENT_JSON_LIMIT_BYTES = 1024 * 1024;
/** Largest JSON body a route may declare (`/api/v4/remotecluster/msg`: a sync message of many posts). */
export const PEER_JSON_LIMIT_BYTES = 16 * 1024 * 1024;
/** Deepest nesting of arrays and objects in a JSON body; deeper is a 400 before anything is parsed. */
export const MAX_JSON_DEPTH = 64;
/**
 * Most arrays, objects and separated values in one JSON body. A few bytes of `{},` each become tens of bytes of
 * heap once parsed, so the byte limit alone would let 16 MiB become hundreds of MiB. A sync message of 1,000 posts
 * holds a few tens of thousands.
 */
export const MAX_JSON_VALUES = 250_000;

/** Bytes of `v` as JSON (UTF-8), as it is stored and sent: what the size caps on props count. */
export function jsonBytes(v: unknown): number {
  const text = JSON.stringify(v);
  return text === undefined ? 0 : Buffer.byteLength(text);
}

const JSON_BODY = Symbol('JSON_BODY');
type BodyMode = { limit: number } | 'streamed';

/** This route takes JSON bodies up to `limit` bytes instead of CLIENT_JSON_LIMIT_BYTES. */
export const JsonBodyLimit = (limit: number) => SetMetadata(JSON_BODY, { limit } satisfies BodyMode);
/** This route reads the request as a stream itself (uploads): no JSON parsing, whatever the Content-Type says. */
export const StreamedBody = () => SetMetadata(JSON_BODY, 'streamed' satisfies BodyMode);

/** A body-parser error with the status and type the AppError filter maps. */
function bodyError(message: string, status: number, type: string): Error {
  return Object.assign(new Error(message), { status, statusCode: status, expose: true, type });
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

/**
 * One pass over the raw bytes, before JSON.parse sees them: the nesting depth and the number of values, outside
 * strings. Linear in the length, no allocation. Malformed JSON is left to the parser.
 */
export function checkJsonShape(buf: Uint8Array, maxDepth = MAX_JSON_DEPTH, maxValues = MAX_JSON_VALUES): void {
  let depth = 0;
  let values = 0;
  const n = buf.length;
  for (let i = 0; i < n; i++) {
    const c = buf[i];
    if (c === QUOTE) {
      // Skip the string: to the next quote not escaped by an odd run of backslashes. indexOf is native, and most
      // of a sync message's bytes are inside strings.
      let end = i;
      for (;;) {
        end = buf.indexOf(QUOTE, end + 1);
        if (end < 0) return; // unterminated: the parser reports it
        let slashes = 0;
        while (buf[end - 1 - slashes] === BACKSLASH) slashes++;
        if (slashes % 2 === 0) break;
      }
      i = end;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) throw bodyError(`JSON nesting deeper than ${maxDepth} levels`, 400, 'entity.too.deep');
      if (++values > maxValues) throw bodyError(`JSON body with more than ${maxValues} values`, 413, 'entity.too.many.values');
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    } else if (c === COMMA) {
      if (++values > maxValues) throw bodyError(`JSON body with more than ${maxValues} values`, 413, 'entity.too.many.values');
    }
  }
}

type Parser = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

function jsonParser(limit: number): Parser {
  return express.json({
    limit,
    // Compressed bodies are refused (415) before this, and here again: the limit would count compressed bytes.
    inflate: false,
    type: ['application/json', 'application/*+json'],
    verify: (_req, _res, buf) => checkJsonShape(buf),
  }) as unknown as Parser;
}

/**
 * Parses JSON request bodies after the guards have run, so a caller that is not allowed on a route never has its
 * body read into memory, and a route's limit applies only to callers it admits (`/api/v4/remotecluster/msg` takes
 * 16 MiB from an authenticated peer; everything else 1 MiB). Routes marked @StreamedBody() read the request
 * themselves. Errors are body-parser's (413 too large, 400 malformed or too deep, 415 encoded), mapped by the
 * AppError filter.
 */
@Injectable()
export class JsonBodyInterceptor implements NestInterceptor {
  private readonly parsers = new Map<number, Parser>();

  constructor(private readonly reflector: Reflector) {}

  private parser(limit: number): Parser {
    let p = this.parsers.get(limit);
    if (!p) this.parsers.set(limit, (p = jsonParser(limit)));
    return p;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const mode = this.reflector.getAllAndOverride<BodyMode | undefined>(JSON_BODY, [context.getHandler(), context.getClass()]);
    if (mode === 'streamed') return next.handle();
    const http = context.switchToHttp();
    const req = http.getRequest<IncomingMessage & { body?: unknown }>();
    const res = http.getResponse<ServerResponse>();
    const parse = this.parser(mode?.limit ?? CLIENT_JSON_LIMIT_BYTES);
    const parsed = new Promise<void>((resolve, reject) => parse(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
    return from(parsed).pipe(switchMap(() => next.handle()));
  }
}
