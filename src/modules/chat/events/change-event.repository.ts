import { Injectable } from '@nestjs/common';
import type { Tx } from '../../../database/transaction-runner.js';
import type { JournalRow } from './change-event.entity.js';

@Injectable()
export class ChangeEventRepository {
  async insert(tx: Tx, row: JournalRow): Promise<void> {
    // A plain INSERT: this runs once per change, inside the change's own transaction.
    await tx.query('INSERT INTO change_events (kind, channel_id, origin_remote_id, data, create_at) VALUES ($1, $2, $3, $4, $5)', [
      row.kind,
      row.channel_id,
      row.origin_remote_id,
      JSON.stringify(row.data),
      row.create_at,
    ]);
  }

  /** Many rows in one statement (bulk imports): journal order is the array's order. */
  async insertMany(tx: Tx, rows: Array<JournalRow>): Promise<void> {
    // 5 parameters per row; PostgreSQL allows 65,535 per statement.
    for (let i = 0; i < rows.length; i += 10_000) {
      const chunk = rows.slice(i, i + 10_000);
      const params: unknown[] = [];
      const tuples = chunk.map((r) => {
        const n = params.push(r.kind, r.channel_id, r.origin_remote_id, JSON.stringify(r.data), r.create_at);
        return `($${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, $${n})`;
      });
      await tx.query(`INSERT INTO change_events (kind, channel_id, origin_remote_id, data, create_at) VALUES ${tuples.join(', ')}`, params);
    }
  }
}
