import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { type FileStore, FileTooLargeError, type StoredObject, type WriteOptions } from './file-store.js';

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
    const out = createWriteStream(temp, { flags: 'wx' });
    try {
      await new Promise<void>((resolvePromise, reject) => {
        let settled = false;
        // Not stream.pipeline: it would destroy `source`, and a multipart parser whose part stream is
        // destroyed stops reading the request. On failure the source is unpiped and drained instead.
        const fail = (err: unknown) => {
          if (settled) return;
          settled = true;
          source.unpipe(meter);
          meter.unpipe(out);
          source.resume();
          out.destroy();
          reject(err);
        };
        source.on('error', fail);
        meter.on('error', fail);
        out.on('error', fail);
        out.on('close', () => {
          if (settled) return;
          settled = true;
          resolvePromise();
        });
        source.pipe(meter).pipe(out);
      });
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    return { size, sha256: hash.digest('hex') };
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
