import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
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

  async markComplete(id: string, size: number, at: number): Promise<void> {
    await this.sessions.update({ id }, { file_offset: size, complete_at: at });
  }
}
