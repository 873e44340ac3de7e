import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { MoreThan, Repository } from 'typeorm';
import type { Tx } from '../../../database/transaction-runner.js';
import { ChangeEventEntity } from './change-event.entity.js';

@Injectable()
export class ChangeEventRepository {
  constructor(@InjectRepository(ChangeEventEntity) private readonly repo: Repository<ChangeEventEntity>) {}

  async insert(tx: Tx, row: Omit<ChangeEventEntity, 'seq'>): Promise<void> {
    // save() takes the entity as is; insert()'s deep-partial type cannot express a free-form jsonb column.
    await tx.getRepository(ChangeEventEntity).save(Object.assign(new ChangeEventEntity(), row), { reload: false });
  }

  /** Journal rows after `seq`, oldest first (for relays and audits). */
  findAfter(seq: string, limit: number): Promise<ChangeEventEntity[]> {
    return this.repo.find({ where: { seq: MoreThan(seq) }, order: { seq: 'ASC' }, take: limit });
  }
}
