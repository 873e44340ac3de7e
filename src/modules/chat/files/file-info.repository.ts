import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import type { Tx } from '../../../database/transaction-runner.js';
import { FileInfoEntity } from './file-info.entity.js';

@Injectable()
export class FileInfoRepository {
  constructor(@InjectRepository(FileInfoEntity) private readonly files: Repository<FileInfoEntity>) {}

  findById(id: string): Promise<FileInfoEntity | null> {
    return this.files.findOneBy({ id });
  }

  findByIds(ids: string[]): Promise<FileInfoEntity[]> {
    return ids.length ? this.files.findBy({ id: In(ids) }) : Promise.resolve([]);
  }

  findByIdsForUpdate(tx: Tx, ids: string[]): Promise<FileInfoEntity[]> {
    return ids.length
      ? tx.getRepository(FileInfoEntity).find({ where: { id: In(ids) }, lock: { mode: 'pessimistic_write' } })
      : Promise.resolve([]);
  }

  findForPosts(postIds: string[]): Promise<FileInfoEntity[]> {
    return postIds.length
      ? this.files.find({ where: { post_id: In(postIds), delete_at: 0 }, order: { create_at: 'ASC', id: 'ASC' } })
      : Promise.resolve([]);
  }

  async insert(info: FileInfoEntity): Promise<void> {
    await this.files.insert({ ...info });
  }

  async attachToPost(tx: Tx, ids: string[], postId: string, now: number): Promise<void> {
    if (ids.length) await tx.getRepository(FileInfoEntity).update({ id: In(ids) }, { post_id: postId, update_at: now });
  }

  async softDeleteForPost(tx: Tx, postId: string, now: number): Promise<void> {
    await tx.getRepository(FileInfoEntity).update({ post_id: postId, delete_at: 0 }, { delete_at: now, update_at: now });
  }
}
