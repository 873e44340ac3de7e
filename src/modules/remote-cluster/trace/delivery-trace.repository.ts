import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { EnvelopeResult, TraceDirection } from './trace-envelope.entity.js';
import type { TraceItemEvent, TraceItemKind } from './trace-item.entity.js';

export interface EnvelopeRow {
  at: number;
  direction: TraceDirection;
  remote_id: string;
  topic: string;
  msg_id: string;
  channel_id: string;
  items: Record<string, number>;
  bytes: number;
  result: EnvelopeResult;
  status: number;
  reason: string;
  duration_ms: number;
}

export interface ItemRow {
  at: number;
  direction: TraceDirection;
  remote_id: string;
  channel_id: string;
  post_id: string;
  kind: TraceItemKind;
  item_key: string;
  item_update_at: number;
  event: TraceItemEvent;
  msg_id: string;
  sent_at: number;
  attempt: number;
  next_attempt_at: number;
  reason: string;
  backfill: boolean;
}

export interface EnvelopeFilter {
  direction?: TraceDirection;
  topic?: string;
  result?: EnvelopeResult;
  channel_id?: string;
  msg_id?: string;
  since?: number;
  until?: number;
}

const num = (v: unknown): number => Number(v ?? 0);

/** The delivery trace's two tables: written in batches (one statement per table per flush), read by index. */
@Injectable()
export class DeliveryTraceRepository {
  constructor(private readonly db: DataSource) {}

  async insertEnvelopes(rows: EnvelopeRow[]): Promise<void> {
    if (!rows.length) return;
    await this.db.query(
      `INSERT INTO trace_envelopes (at, direction, remote_id, topic, msg_id, channel_id, items, bytes, result, status, reason, duration_ms)
       SELECT * FROM unnest($1::bigint[], $2::varchar[], $3::varchar[], $4::varchar[], $5::varchar[], $6::varchar[], $7::jsonb[],
                            $8::int[], $9::varchar[], $10::int[], $11::varchar[], $12::int[])`,
      [
        rows.map((r) => r.at),
        rows.map((r) => r.direction),
        rows.map((r) => r.remote_id),
        rows.map((r) => r.topic),
        rows.map((r) => r.msg_id),
        rows.map((r) => r.channel_id),
        rows.map((r) => JSON.stringify(r.items)),
        rows.map((r) => r.bytes),
        rows.map((r) => r.result),
        rows.map((r) => r.status),
        rows.map((r) => r.reason),
        rows.map((r) => r.duration_ms),
      ],
    );
  }

  async insertItems(rows: ItemRow[]): Promise<void> {
    if (!rows.length) return;
    await this.db.query(
      `INSERT INTO trace_items (at, direction, remote_id, channel_id, post_id, kind, item_key, item_update_at, event, msg_id, sent_at,
                                attempt, next_attempt_at, reason, backfill)
       SELECT * FROM unnest($1::bigint[], $2::varchar[], $3::varchar[], $4::varchar[], $5::varchar[], $6::varchar[], $7::varchar[],
                            $8::bigint[], $9::varchar[], $10::varchar[], $11::bigint[], $12::int[], $13::bigint[], $14::varchar[], $15::boolean[])`,
      [
        rows.map((r) => r.at),
        rows.map((r) => r.direction),
        rows.map((r) => r.remote_id),
        rows.map((r) => r.channel_id),
        rows.map((r) => r.post_id),
        rows.map((r) => r.kind),
        rows.map((r) => r.item_key),
        rows.map((r) => r.item_update_at),
        rows.map((r) => r.event),
        rows.map((r) => r.msg_id),
        rows.map((r) => r.sent_at),
        rows.map((r) => r.attempt),
        rows.map((r) => r.next_attempt_at),
        rows.map((r) => r.reason),
        rows.map((r) => r.backfill),
      ],
    );
  }

  /** A remote's envelopes, newest first (idx_trace_envelopes_remote_at). */
  async listEnvelopes(remoteId: string, f: EnvelopeFilter, offset: number, limit: number): Promise<Array<EnvelopeRow & { id: string }>> {
    const where = ['remote_id = $1'];
    const params: unknown[] = [remoteId];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (f.direction) add('direction = ?', f.direction);
    if (f.topic) add('topic = ?', f.topic);
    if (f.result) add('result = ?', f.result);
    if (f.channel_id) add('channel_id = ?', f.channel_id);
    if (f.msg_id) add('msg_id = ?', f.msg_id);
    if (f.since !== undefined) add('at >= ?', f.since);
    if (f.until !== undefined) add('at <= ?', f.until);
    params.push(limit, offset);
    const rows: Array<Record<string, unknown>> = await this.db.query(
      `SELECT id, at, direction, remote_id, topic, msg_id, channel_id, items, bytes, result, status, reason, duration_ms
         FROM trace_envelopes WHERE ${where.join(' AND ')}
        ORDER BY at DESC, id DESC LIMIT $${params.length - 1} OFFSET $${params.length}`,
      params,
    );
    return rows.map((r) => ({
      id: String(r.id),
      at: num(r.at),
      direction: r.direction as TraceDirection,
      remote_id: r.remote_id as string,
      topic: r.topic as string,
      msg_id: r.msg_id as string,
      channel_id: r.channel_id as string,
      items: (r.items as Record<string, number>) ?? {},
      bytes: num(r.bytes),
      result: r.result as EnvelopeResult,
      status: num(r.status),
      reason: r.reason as string,
      duration_ms: num(r.duration_ms),
    }));
  }

  /** Every event of a post and of the reactions and acknowledgements on it, oldest first (idx_trace_items_post_at). */
  async itemsOfPost(postId: string, limit: number): Promise<ItemRow[]> {
    const rows: Array<Record<string, unknown>> = await this.db.query(
      `SELECT at, direction, remote_id, channel_id, post_id, kind, item_key, item_update_at, event, msg_id, sent_at, attempt,
              next_attempt_at, reason, backfill
         FROM trace_items WHERE post_id = $1 ORDER BY at, id LIMIT $2`,
      [postId, limit],
    );
    return rows.map((r) => ({
      at: num(r.at),
      direction: r.direction as TraceDirection,
      remote_id: r.remote_id as string,
      channel_id: r.channel_id as string,
      post_id: r.post_id as string,
      kind: r.kind as TraceItemKind,
      item_key: r.item_key as string,
      item_update_at: num(r.item_update_at),
      event: r.event as TraceItemEvent,
      msg_id: r.msg_id as string,
      sent_at: num(r.sent_at),
      attempt: num(r.attempt),
      next_attempt_at: num(r.next_attempt_at),
      reason: r.reason as string,
      backfill: r.backfill === true,
    }));
  }

  /** Deletes up to `batch` rows of `table` older than `before`; how many went. Short statements, no long lock. */
  async pruneBatch(table: 'trace_envelopes' | 'trace_items', before: number, batch: number): Promise<number> {
    const rows: Array<{ n: number }> = await this.db.query(
      `WITH gone AS (
         DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE at < $1 ORDER BY at LIMIT $2) RETURNING 1
       )
       SELECT count(*)::int AS n FROM gone`,
      [before, batch],
    );
    return rows[0]?.n ?? 0;
  }
}
