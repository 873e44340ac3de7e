import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

/** An open database transaction, passed from services to repositories; only repositories look inside. */
export type Tx = EntityManager;

/** Services group repository writes (and their outbox rows) into one transaction without touching TypeORM. */
@Injectable()
export class TransactionRunner {
  constructor(private readonly dataSource: DataSource) {}

  run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }
}
