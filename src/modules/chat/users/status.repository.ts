import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import type { Tx } from '../../../database/transaction-runner.js';
import { StatusEntity } from './status.entity.js';

@Injectable()
export class StatusRepository {
  constructor(@InjectRepository(StatusEntity) private readonly statuses: Repository<StatusEntity>) {}

  findByUserId(userId: string): Promise<StatusEntity | null> {
    return this.statuses.findOneBy({ user_id: userId });
  }

  findByUserIds(userIds: string[]): Promise<StatusEntity[]> {
    return userIds.length ? this.statuses.findBy({ user_id: In(userIds) }) : Promise.resolve([]);
  }

  findForUpdate(tx: Tx, userId: string): Promise<StatusEntity | null> {
    return tx.getRepository(StatusEntity).findOne({ where: { user_id: userId }, lock: { mode: 'pessimistic_write' } });
  }

  async upsert(tx: Tx, status: StatusEntity): Promise<void> {
    await tx
      .createQueryBuilder()
      .insert()
      .updateEntity(false)
      .into(StatusEntity)
      .values(status)
      .orUpdate(['status', 'manual', 'last_activity_at', 'dnd_end_time', 'prev_status', 'update_at'], ['user_id'])
      .execute();
  }
}
