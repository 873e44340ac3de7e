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
  /**
   * Resumable writes: streams `source` into `key` starting at byte `offset` (bytes stored beyond it are dropped
   * first; the object is created when `offset` is 0). More than `maxBytes` from `source` fails with
   * FileTooLargeError. Whatever arrived before a failure (the source aborting, say) stays stored and flushed, so
   * the next append continues where this one stopped: size() tells where. Resolves with the object's size and the
   * SHA-256 of the bytes this call appended (the whole object's when `offset` was 0).
   */
  append(key: string, source: Readable, offset: number, maxBytes: number): Promise<StoredObject>;
  /** Renames an object (a completed partial upload into its final place), replacing any object at `to`. */
  move(from: string, to: string): Promise<void>;
  read(key: string, range?: { start: number; end?: number }): Promise<Readable>;
  size(key: string): Promise<number | null>;
  remove(key: string): Promise<void>;
}

export interface WriteOptions {
  /** Checks the first bytes (up to 16) before anything is kept; an error returned aborts the write. */
  checkHead?: (head: Buffer) => Error | undefined;
}

export const FILE_STORE = Symbol('FILE_STORE');

/** append() was asked to start past the end of what is stored. */
export class FileOffsetError extends Error {
  constructor(
    readonly offset: number,
    readonly size: number,
  ) {
    super(`offset ${offset} is past the ${size} bytes stored`);
    this.name = 'FileOffsetError';
  }
}

export class FileTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`file exceeds ${maxBytes} bytes`);
    this.name = 'FileTooLargeError';
  }
}
