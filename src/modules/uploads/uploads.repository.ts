import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, LessThan, Repository } from 'typeorm';
import { UploadSessionEntity } from './upload-session.entity.js';

@Injectable()
export class UploadsRepository {
  constructor(@InjectRepository(UploadSessionEntity) private readonly sessions: Repository<UploadSessionEntity>) {}

  findById(id: string): Promise<UploadSessionEntity | null> {
    return this.sessions.findOneBy({ id });
  }

  /** Inserts unless the id exists (two deliveries of one sharedchannel_upload raced); true when written. */
  async insertIfAbsent(session: UploadSessionEntity): Promise<boolean> {
    const r = await this.sessions
      .createQueryBuilder()
      .insert()
      .into(UploadSessionEntity)
      .values(session)
      .updateEntity(false)
      .orIgnore()
      .returning('id')
      .execute();
    return (r.raw as unknown[]).length > 0;
  }

  async setOffset(id: string, offset: number): Promise<void> {
    await this.sessions.update({ id }, { file_offset: offset });
  }

  /** Sessions created before `before` (finished, or abandoned by their sender), oldest first. */
  findExpired(before: number, limit: number): Promise<UploadSessionEntity[]> {
    return this.sessions.find({ where: { create_at: LessThan(before) }, order: { create_at: 'ASC' }, take: limit });
  }

  async delete(ids: string[]): Promise<void> {
    if (ids.length) await this.sessions.delete({ id: In(ids) });
  }

  async markComplete(id: string, size: number, at: number): Promise<void> {
    await this.sessions.update({ id }, { file_offset: size, complete_at: at });
  }
}
