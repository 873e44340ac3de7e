import type pg from 'pg';
import { now, sleep } from './clock.js';

/**
 * Records when each post first becomes visible in one database's channel, by polling at a high rate (no
 * LISTEN/NOTIFY, nothing added to the server). The posts table's `seq` is stamped per channel in commit order,
 * so `seq > last` never skips a committed row and each poll reads only what is new. The time recorded for a
 * row is the moment the poll that first saw it was sent, so a row's "applied" time is late by at most one
 * poll interval.
 */
export class PostWatcher {
  readonly seen = new Map<string, number>();
  polls = 0;
  /** The last failed poll (the loop keeps going: a transient error must not end the measurement). */
  lastError: Error | undefined;
  private lastSeq = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly db: pg.Client,
    private readonly channelId: string,
    private readonly intervalMs: number,
    private readonly table = 'posts',
  ) {}

  /** Starts from the channel's current end: rows already there are not "new". */
  async start(): Promise<void> {
    const { rows } = await this.db.query<{ m: string | null }>(`SELECT max(seq) AS m FROM ${this.table} WHERE channel_id = $1`, [this.channelId]);
    this.lastSeq = Number(rows[0]?.m ?? 0);
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const sentAt = now();
      let rows: Array<{ id: string; seq: string }>;
      try {
        rows = (
          await this.db.query<{ id: string; seq: string }>(
            `SELECT id, seq FROM ${this.table} WHERE channel_id = $1 AND seq > $2 ORDER BY seq LIMIT 20000`,
            [this.channelId, this.lastSeq],
          )
        ).rows;
      } catch (err) {
        this.lastError = err as Error;
        await sleep(100);
        continue;
      }
      this.polls++;
      for (const r of rows) {
        if (!this.seen.has(r.id)) this.seen.set(r.id, sentAt);
      }
      if (rows.length) {
        this.lastSeq = Number(rows[rows.length - 1].seq);
        const w = this.waiters;
        this.waiters = [];
        for (const f of w) f();
      }
      if (rows.length < 20000) await sleep(this.intervalMs);
    }
  }

  /** Resolves when every id is seen; rejects after the timeout naming how many are missing. */
  async waitForAll(ids: Iterable<string>, timeoutMs: number, what: string): Promise<void> {
    const wanted = [...ids];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const missing = wanted.filter((id) => !this.seen.has(id)).length;
      if (!missing) return;
      if (Date.now() > deadline) {
        const why = this.lastError ? ` (last poll error: ${this.lastError.message})` : '';
        throw new Error(`timed out after ${(timeoutMs / 1000).toFixed(0)} s: ${what}: ${missing} of ${wanted.length} posts never appeared${why}`);
      }
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), sleep(500)]);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop?.catch(() => undefined);
  }
}

/**
 * Records when each of a set of posts (any channels) first becomes visible in one database, by polling for the ids
 * still missing: a post is added after A has answered for it, and a poll asks only for those not seen yet.
 */
export class IdWatcher {
  readonly seen = new Map<string, number>();
  private readonly pending = new Set<string>();
  /** Queries sent (each one a transaction in the watched database). */
  polls = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  lastError: Error | undefined;

  constructor(
    private readonly db: pg.Client,
    private readonly intervalMs: number,
  ) {}

  add(id: string): void {
    if (!this.seen.has(id)) this.pending.add(id);
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (this.pending.size) {
        const sentAt = now();
        try {
          this.polls++;
          const { rows } = await this.db.query<{ id: string }>('SELECT id FROM posts WHERE id = ANY($1::varchar[])', [[...this.pending]]);
          for (const r of rows) {
            this.pending.delete(r.id);
            if (!this.seen.has(r.id)) this.seen.set(r.id, sentAt);
          }
        } catch (err) {
          this.lastError = err as Error;
          await sleep(100);
        }
      }
      await sleep(this.intervalMs);
    }
  }

  async waitForAll(ids: string[], timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const missing = ids.filter((id) => !this.seen.has(id)).length;
      if (!missing) return;
      if (Date.now() > deadline) throw new Error(`timed out after ${(timeoutMs / 1000).toFixed(0)} s: ${what}: ${missing} of ${ids.length} posts never appeared`);
      await sleep(50);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop?.catch(() => undefined);
  }
}
