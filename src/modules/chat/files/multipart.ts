import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import busboy from 'busboy';
import { ChatErrors } from '../chat.errors.js';

export interface MultipartFile {
  field: string;
  filename: string;
  mimeType: string;
  /**
   * The part's bytes. Errors when the form is cut off inside the part. The handler may consume it with
   * stream.pipeline (destroying it is fine: the rest of the part is then read and dropped).
   */
  stream: Readable;
}

export interface MultipartLimits {
  files: number;
  fields: number;
  fieldSize: number;
}

/** Longest field name, and most header lines per part (busboy's defaults are 100 bytes and 2,000 lines). */
const FIELD_NAME_MAX = 200;
const HEADER_PAIRS_MAX = 20;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Streams a multipart/form-data request: each file goes to `onFile` as it arrives (never buffered whole), fields
 * are collected. Files are handled one after another, in request order. Any failure (a handler's, a limit, a form
 * that ends early, a client that goes away) is remembered, the rest of the request is drained, and the first one
 * is thrown once every handler has settled.
 *
 * Every stream here has its error handled: a part that fails before its handler has started (it waits behind the
 * previous file) fails the request, never the process.
 */
export function parseMultipart(
  req: IncomingMessage,
  limits: MultipartLimits,
  onFile: (file: MultipartFile) => Promise<void>,
): Promise<Record<string, string[]>> {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data/i.test(type)) {
    req.resume();
    return Promise.reject(ChatErrors.badMultipart('Content-Type must be multipart/form-data'));
  }
  return new Promise((resolve, reject) => {
    // No prototype: a field named "constructor" or "__proto__" is a field like any other.
    const fields: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
    let failure: unknown;
    const fail = (err: unknown) => {
      failure ??= err;
    };
    let chain: Promise<void> = Promise.resolve();
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: req.headers,
        limits: {
          files: limits.files,
          fields: limits.fields,
          fieldSize: limits.fieldSize,
          parts: limits.files + limits.fields,
          fieldNameSize: FIELD_NAME_MAX,
          headerPairs: HEADER_PAIRS_MAX,
        },
      });
    } catch (err) {
      req.resume();
      reject(ChatErrors.badMultipart(message(err)));
      return;
    }

    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      req.unpipe(bb);
      if (!req.readableEnded && !req.destroyed) req.resume();
      void chain.then(() => (failure ? reject(failure) : resolve(fields)));
    };

    // A listener that throws would be an uncaught exception (the process gone): every one reports through `fail`.
    const safely =
      <A extends unknown[]>(listener: (...args: A) => void) =>
      (...args: A) => {
        try {
          listener(...args);
        } catch (err) {
          fail(err);
          bb.destroy(err instanceof Error ? err : new Error(String(err)));
        }
      };
    bb.on('field', safely((name: string, value: string, info: busboy.FieldInfo) => {
      if (info.valueTruncated) fail(ChatErrors.badMultipart(`field ${name} is too long`));
      (fields[name] ??= []).push(value);
    }));
    bb.on('file', safely((field: string, part: Readable, info: busboy.FileInfo) => {
      // The handler reads a stream of our own: the part is piped into it, and when the handler stops early (or
      // never starts) the rest of the part is read and dropped so that the parser moves on to the next one.
      const stream = new PassThrough();
      stream.on('error', () => undefined); // reported through `failure`, or to the handler reading it
      part.on('error', (err: unknown) => {
        fail(ChatErrors.badMultipart(message(err)));
        stream.destroy(err instanceof Error ? err : new Error(String(err)));
      });
      part.pipe(stream);
      stream.on('close', () => {
        if (!part.readableEnded) {
          part.unpipe(stream);
          part.resume();
        }
      });
      chain = chain.then(async () => {
        if (failure) return void stream.destroy();
        try {
          await onFile({ field, filename: info.filename ?? '', mimeType: info.mimeType, stream });
        } catch (err) {
          fail(err);
        } finally {
          // A handler that returned without reading it all: drop the rest.
          if (!stream.readableEnded) stream.destroy();
        }
      });
    }));
    bb.on('partsLimit', () => fail(ChatErrors.badMultipart(`at most ${limits.files + limits.fields} parts per request`)));
    bb.on('filesLimit', () => fail(ChatErrors.badMultipart(`at most ${limits.files} files per request`)));
    bb.on('fieldsLimit', () => fail(ChatErrors.badMultipart('too many fields')));
    bb.on('error', (err: unknown) => {
      fail(ChatErrors.badMultipart(message(err)));
      finish();
    });
    bb.on('close', finish);
    // The client went away, or the connection was closed for idling: busboy would wait for the rest forever.
    req.on('error', (err: unknown) => bb.destroy(err instanceof Error ? err : new Error(String(err))));
    req.on('close', () => {
      if (!req.complete) bb.destroy(new Error('the request ended before the form did'));
    });
    req.pipe(bb);
  });
}
