import type { Readable } from 'node:stream';

export interface StoredObject {
  size: number;
  /** SHA-256 of the bytes, hex. */
  sha256: string;
}

/**
 * Where file bytes live. Callers only stream in and out by key, so an S3-compatible store can
 * replace the local one without touching them.
 */
export interface FileStore {
  /**
   * Streams `source` to `key`, failing with FileTooLargeError as soon as more than `maxBytes` arrive;
   * on any failure nothing is left at `key`.
   */
  write(key: string, source: Readable, maxBytes: number, opts?: WriteOptions): Promise<StoredObject>;
  read(key: string, range?: { start: number; end?: number }): Promise<Readable>;
  size(key: string): Promise<number | null>;
  remove(key: string): Promise<void>;
}

export interface WriteOptions {
  /** Checks the first bytes (up to 16) before anything is kept; an error returned aborts the write. */
  checkHead?: (head: Buffer) => Error | undefined;
}

export const FILE_STORE = Symbol('FILE_STORE');

export class FileTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`file exceeds ${maxBytes} bytes`);
    this.name = 'FileTooLargeError';
  }
}
