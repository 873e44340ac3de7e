import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { finished, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FileOffsetError, type FileStore, FileTooLargeError, type StoredObject, type WriteOptions } from './file-store.js';

const HEAD_BYTES = 16;

/** Files under one directory. Writes go to a temporary name and are renamed into place when complete. */
export class LocalFileStore implements FileStore {
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  private pathOf(key: string): string {
    const full = resolve(this.root, key);
    if (!full.startsWith(this.root + sep)) throw new Error(`invalid storage key: ${key}`);
    return full;
  }

  async write(key: string, source: Readable, maxBytes: number, opts: WriteOptions = {}): Promise<StoredObject> {
    const target = this.pathOf(key);
    await mkdir(dirname(target), { recursive: true });
    const temp = join(dirname(target), `.tmp-${randomBytes(8).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    let head: Buffer | undefined = opts.checkHead ? Buffer.alloc(0) : undefined;
    const checkHead = (final: boolean): Error | undefined => {
      if (!head || (head.length < HEAD_BYTES && !final)) return undefined;
      const err = opts.checkHead!(head);
      head = undefined;
      return err;
    };
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > maxBytes) return done(new FileTooLargeError(maxBytes));
        if (head) head = Buffer.concat([head, chunk.subarray(0, HEAD_BYTES)]);
        const bad = checkHead(false);
        if (bad) return done(bad);
        hash.update(chunk);
        done(null, chunk);
      },
      flush(done) {
        done(checkHead(true) ?? null);
      },
    });
    try {
      // The source is destroyed with the rest on failure: callers hand over a stream of their own (multipart parts
      // come wrapped, so the parser drains what is left of the part).
      await pipeline(source, meter, createWriteStream(temp, { flags: 'wx' }));
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    return { size, sha256: hash.digest('hex') };
  }

  async append(key: string, source: Readable, offset: number, maxBytes: number): Promise<StoredObject> {
    const target = this.pathOf(key);
    await mkdir(dirname(target), { recursive: true });
    const stored = (await this.size(key)) ?? -1;
    if (stored < 0) {
      if (offset !== 0) throw new FileOffsetError(offset, 0);
      await writeFile(target, '', { flag: 'wx' });
    } else if (stored < offset) {
      throw new FileOffsetError(offset, stored);
    } else if (stored > offset) {
      await truncate(target, offset);
    }
    let received = 0;
    const hash = createHash('sha256');
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        if (received > maxBytes) return done(new FileTooLargeError(maxBytes));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    const out = createWriteStream(target, { flags: 'r+', start: offset });
    let failure: unknown;
    await new Promise<void>((resolvePromise) => {
      let stopping = false;
      // On any failure the source is detached and what passed the meter is flushed to disk before we answer,
      // so the stored size is exactly what a resumed transfer continues from.
      const stop = (err: unknown) => {
        failure ??= err;
        if (stopping) return;
        stopping = true;
        source.unpipe(meter);
        if (!source.destroyed) source.resume();
        meter.unpipe(out);
        out.end();
      };
      // finished() also reports a source that failed or was cut off before we got here (while the offset was
      // being read), which would otherwise leave this write waiting forever.
      finished(source, { writable: false }, (err) => {
        if (err) stop(err.code === 'ERR_STREAM_PREMATURE_CLOSE' ? new Error('the upload was cut off') : err);
      });
      meter.on('error', stop);
      out.on('error', (err) => {
        failure ??= err;
        resolvePromise();
      });
      out.on('close', () => resolvePromise());
      source.pipe(meter).pipe(out);
    });
    if (failure) throw failure;
    return { size: (await stat(target)).size, sha256: hash.digest('hex') };
  }

  async move(from: string, to: string): Promise<void> {
    const target = this.pathOf(to);
    await mkdir(dirname(target), { recursive: true });
    await rename(this.pathOf(from), target);
  }

  async read(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const path = this.pathOf(key);
    await stat(path);
    return createReadStream(path, range ? { start: range.start, end: range.end } : {});
  }

  async size(key: string): Promise<number | null> {
    try {
      return (await stat(this.pathOf(key))).size;
    } catch {
      return null;
    }
  }

  async remove(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }
}
