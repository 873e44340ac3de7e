import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { MoreThan, Repository } from 'typeorm';
import type { Tx } from '../../../database/transaction-runner.js';
import { ChangeEventEntity } from './change-event.entity.js';

@Injectable()
export class ChangeEventRepository {
  constructor(@InjectRepository(ChangeEventEntity) private readonly repo: Repository<ChangeEventEntity>) {}

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

  /** Journal rows after `seq`, oldest first (for relays and audits). */
  findAfter(seq: string, limit: number): Promise<ChangeEventEntity[]> {
    return this.repo.find({ where: { seq: MoreThan(seq) }, order: { seq: 'ASC' }, take: limit });
  }
}
