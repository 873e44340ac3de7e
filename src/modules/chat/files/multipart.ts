import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { ChatErrors } from '../chat.errors.js';

export interface MultipartFile {
  field: string;
  filename: string;
  mimeType: string;
  stream: Readable;
}

export interface MultipartLimits {
  files: number;
  fields: number;
  fieldSize: number;
}

/**
 * Streams a multipart/form-data request: each file goes to `onFile` as it arrives (never buffered whole),
 * fields are collected. Files are handled one after another, in request order. If any handler fails, the
 * rest of the request is drained and the first error is thrown.
 */
export function parseMultipart(
  req: IncomingMessage,
  limits: MultipartLimits,
  onFile: (file: MultipartFile) => Promise<void>,
): Promise<Record<string, string[]>> {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data/i.test(type)) return Promise.reject(ChatErrors.badMultipart('Content-Type must be multipart/form-data'));
  return new Promise((resolve, reject) => {
    const fields: Record<string, string[]> = {};
    let failure: unknown;
    let chain: Promise<void> = Promise.resolve();
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, limits: { files: limits.files, fields: limits.fields, fieldSize: limits.fieldSize } });
    } catch (err) {
      reject(ChatErrors.badMultipart(err instanceof Error ? err.message : String(err)));
      return;
    }
    bb.on('field', (name, value, info) => {
      if (info.valueTruncated) failure ??= ChatErrors.badMultipart(`field ${name} is too long`);
      (fields[name] ??= []).push(value);
    });
    bb.on('file', (field, stream, info) => {
      if (failure) {
        stream.resume();
        return;
      }
      chain = chain.then(async () => {
        if (failure) {
          stream.resume();
          return;
        }
        try {
          await onFile({ field, filename: info.filename ?? '', mimeType: info.mimeType, stream });
        } catch (err) {
          failure ??= err;
          stream.resume();
        }
      });
    });
    bb.on('filesLimit', () => (failure ??= ChatErrors.badMultipart(`at most ${limits.files} files per request`)));
    bb.on('fieldsLimit', () => (failure ??= ChatErrors.badMultipart('too many fields')));
    bb.on('error', (err: unknown) => {
      failure ??= ChatErrors.badMultipart(err instanceof Error ? err.message : String(err));
      req.unpipe(bb);
      req.resume();
      chain.then(() => reject(failure));
    });
    bb.on('close', () => {
      chain.then(() => (failure ? reject(failure) : resolve(fields)));
    });
    req.pipe(bb);
  });
}
