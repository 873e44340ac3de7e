import { Injectable } from '@nestjs/common';
import type { Tx } from '../../../database/transaction-runner.js';
import type { ChangeEventEntity } from './change-event.entity.js';

@Injectable()
export class ChangeEventRepository {
  async insert(tx: Tx, row: Omit<ChangeEventEntity, 'seq'>): Promise<void> {
    // A plain INSERT: this runs once per change, inside the change's own transaction.
    await tx.query('INSERT INTO change_events (kind, channel_id, origin_remote_id, data, create_at) VALUES ($1, $2, $3, $4, $5)', [
      row.kind,
      row.channel_id,
      row.origin_remote_id,
      JSON.stringify(row.data),
      row.create_at,
    ]);
  }
}
