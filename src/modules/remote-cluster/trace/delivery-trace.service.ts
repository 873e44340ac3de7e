import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { isValidId } from '../../../common/ids.js';
import { APP_CONFIG, type AppConfig } from '../../../config/app-config.js';
import { redactString } from '../../../logging/redaction.js';
import { MetricsService } from '../../../metrics/metrics.service.js';
import { JobProducer } from '../../../queue/job-producer.js';
import { JobName } from '../../../queue/queue.constants.js';
import { DeliveryTraceRepository, type EnvelopeFilter, type EnvelopeRow, type ItemRow } from './delivery-trace.repository.js';
import type { EnvelopeResult, TraceDirection } from './trace-envelope.entity.js';
import type { TraceItemEvent, TraceItemKind } from './trace-item.entity.js';

/** Buffered rows are written at least this often... */
const FLUSH_EVERY_MS = 250;
/** ...or as soon as this many wait. */
const FLUSH_ROWS = 1_000;
/** Beyond this many unwritten rows (the database is down or slow), new ones are dropped and counted. */
const MAX_BUFFERED = 50_000;
/** The pruning trigger's period; each run deletes in batches, at most PRUNE_BATCHES of them per table. */
export const TRACE_PRUNE_EVERY_MS = 10 * 60_000;
const PRUNE_BATCH = 10_000;
const PRUNE_BATCHES = 100;
/** Most events one post's trace answers with. */
const POST_TRACE_LIMIT = 2_000;

/** Payload fields whose size is counted: lists of items (never their content), maps of users or mentions. */
const COUNTED = ['users', 'posts', 'reactions', 'acknowledgements', 'statuses', 'membership_changes', 'mention_transforms', 'direct_participants', 'keys', 'remove_posts'];
const NON_PRINTABLE = /[^\x20-\x7e]/g;

/** One envelope in or out; the payload is only counted (items per kind, its channel), never kept. */
export interface EnvelopeEvent {
  direction: TraceDirection;
  remote_id: string;
  topic: string;
  msg_id?: string;
  payload?: unknown;
  bytes: number;
  at: number;
  duration_ms: number;
  result: EnvelopeResult;
  status?: number;
  reason?: string;
}

/** One event of one post-related item (see TraceItemEntity). */
export interface ItemEvent {
  direction?: TraceDirection;
  remote_id: string;
  channel_id: string;
  post_id: string;
  kind: TraceItemKind;
  item_key: string;
  item_update_at?: number;
  event: TraceItemEvent;
  msg_id?: string;
  sent_at?: number;
  attempt?: number;
  next_attempt_at?: number;
  reason?: string;
  backfill?: boolean;
  at?: number;
}

/** What an admin reads for a post: its events per remote, oldest first. */
export interface PostTraceJson {
  post_id: string;
  remotes: Array<{ remote_id: string; events: Array<Omit<ItemRow, 'remote_id' | 'post_id'>> }>;
}

/** Counts the items of a payload per kind, and names its channel: nothing else of it is kept. */
export function summarizePayload(payload: unknown): { items: Record<string, number>; channel_id: string } {
  const items: Record<string, number> = {};
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return { items, channel_id: '' };
  const p = payload as Record<string, unknown>;
  for (const key of COUNTED) {
    const v = p[key];
    if (Array.isArray(v)) items[key] = v.length;
    else if (v && typeof v === 'object') items[key] = Object.keys(v).length;
  }
  return { items, channel_id: isValidId(p.channel_id) ? p.channel_id : '' };
}

/** A failure's text as the trace keeps it: credentials scrubbed (as in logs), printable, at most 256 characters. */
export function traceReason(text: string | undefined): string {
  if (!text) return '';
  return redactString(text).replace(NON_PRINTABLE, ' ').slice(0, 256);
}

/**
 * The delivery trace: every envelope in and out (direction, remote, topic, message id, item counts, bytes, result,
 * duration) and, for posts and the reactions and acknowledgements on them, what happened to each with each remote
 * (sent, accepted, rejected and why, retried, parked). Never content or secrets: ids, counts, timestamps and
 * redacted failure reasons only.
 *
 * Recording is off the hot path: rows are buffered and written in one multi-row statement per table every 250 ms (or
 * every 1,000 rows); a crash loses at most that. Reads flush this replica's buffer first. Rows older than
 * TRACE_RETENTION_HOURS are deleted by a periodic job (the trigger only enqueues; the job deletes in batches).
 */
@Injectable()
export class DeliveryTrace implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(DeliveryTrace.name);
  private envelopes: EnvelopeRow[] = [];
  private itemRows: ItemRow[] = [];
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private readonly dropped: Counter<'table'>;
  private readonly written: Counter<'table'>;

  constructor(
    private readonly repo: DeliveryTraceRepository,
    private readonly jobs: JobProducer,
    metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.dropped = metrics.counter('delivery_trace_dropped_total', 'Delivery trace rows dropped because too many were waiting to be written', ['table']);
    this.written = metrics.counter('delivery_trace_rows_total', 'Delivery trace rows written', ['table']);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.schedule(JobName.TracePrune, TRACE_PRUNE_EVERY_MS, {});
  }

  /** What is buffered goes before the database pool closes; jobs still finishing add rows, written just after. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.flush().catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush().catch(() => undefined);
  }

  envelope(e: EnvelopeEvent): void {
    if (!this.room('trace_envelopes', 1)) return;
    const { items, channel_id } = summarizePayload(e.payload);
    this.envelopes.push({
      at: e.at,
      direction: e.direction,
      remote_id: e.remote_id,
      topic: e.topic.replace(NON_PRINTABLE, '?').slice(0, 64),
      msg_id: isValidId(e.msg_id) ? e.msg_id : '',
      channel_id,
      items,
      bytes: Math.max(0, Math.min(2 ** 31 - 1, Math.round(e.bytes))),
      result: e.result,
      status: e.status ?? 0,
      reason: traceReason(e.reason),
      duration_ms: Math.max(0, Math.min(2 ** 31 - 1, Math.round(e.duration_ms))),
    });
    this.schedule();
  }

  items(events: ItemEvent[]): void {
    if (!events.length || !this.room('trace_items', events.length)) return;
    const now = Date.now();
    for (const e of events) {
      this.itemRows.push({
        at: e.at ?? now,
        direction: e.direction ?? 'out',
        remote_id: e.remote_id,
        channel_id: isValidId(e.channel_id) ? e.channel_id : '',
        post_id: e.post_id,
        kind: e.kind,
        item_key: e.item_key.slice(0, 128),
        item_update_at: e.item_update_at ?? 0,
        event: e.event,
        msg_id: isValidId(e.msg_id) ? e.msg_id : '',
        sent_at: e.sent_at ?? 0,
        attempt: e.attempt ?? 0,
        next_attempt_at: e.next_attempt_at ?? 0,
        reason: traceReason(e.reason),
        backfill: e.backfill === true,
      });
    }
    this.schedule();
  }

  /** Writes what is buffered now (one statement per table); later calls wait for earlier ones. */
  flush(): Promise<void> {
    const run = this.writing.then(() => this.write());
    this.writing = run.catch(() => undefined);
    return run;
  }

  /** A remote's envelopes, newest first. */
  async listEnvelopes(remoteId: string, filter: EnvelopeFilter, page: number, perPage: number) {
    await this.flush();
    return this.repo.listEnvelopes(remoteId, filter, page * perPage, perPage);
  }

  /** Every event of the post and of the reactions and acknowledgements on it, per remote, oldest first. */
  async postTrace(postId: string): Promise<PostTraceJson> {
    await this.flush();
    const byRemote = new Map<string, PostTraceJson['remotes'][number]['events']>();
    for (const row of await this.repo.itemsOfPost(postId, POST_TRACE_LIMIT)) {
      const { remote_id, post_id: _post, ...event } = row;
      if (!byRemote.has(remote_id)) byRemote.set(remote_id, []);
      byRemote.get(remote_id)!.push(event);
    }
    return { post_id: postId, remotes: [...byRemote.entries()].map(([remote_id, events]) => ({ remote_id, events })) };
  }

  /** Deletes rows older than the retention, in batches; what went. */
  async prune(now = Date.now()): Promise<{ envelopes: number; items: number }> {
    const before = now - this.config.trace.retentionMs;
    const out = { envelopes: 0, items: 0 };
    for (const [table, key] of [['trace_envelopes', 'envelopes'], ['trace_items', 'items']] as const) {
      for (let i = 0; i < PRUNE_BATCHES; i++) {
        const n = await this.repo.pruneBatch(table, before, PRUNE_BATCH);
        out[key] += n;
        if (n < PRUNE_BATCH) break;
      }
    }
    if (out.envelopes || out.items) this.logger.log(out, 'pruned the delivery trace');
    return out;
  }

  private room(table: 'trace_envelopes' | 'trace_items', n: number): boolean {
    if (this.envelopes.length + this.itemRows.length + n <= MAX_BUFFERED) return true;
    this.dropped.inc({ table }, n);
    return false;
  }

  private schedule(): void {
    if (this.envelopes.length + this.itemRows.length >= FLUSH_ROWS) {
      void this.flush().catch(() => undefined);
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush().catch(() => undefined);
    }, FLUSH_EVERY_MS);
    this.timer.unref();
  }

  private async write(): Promise<void> {
    const envelopes = this.envelopes;
    const items = this.itemRows;
    this.envelopes = [];
    this.itemRows = [];
    if (!envelopes.length && !items.length) return;
    try {
      await this.repo.insertEnvelopes(envelopes);
      await this.repo.insertItems(items);
      if (envelopes.length) this.written.inc({ table: 'trace_envelopes' }, envelopes.length);
      if (items.length) this.written.inc({ table: 'trace_items' }, items.length);
    } catch (err) {
      // A trace is not worth failing a delivery for: the rows are lost, and said so.
      this.dropped.inc({ table: 'trace_envelopes' }, envelopes.length);
      this.dropped.inc({ table: 'trace_items' }, items.length);
      this.logger.warn({ err: err instanceof Error ? err.message : String(err), rows: envelopes.length + items.length }, 'could not write the delivery trace');
    }
  }
}
