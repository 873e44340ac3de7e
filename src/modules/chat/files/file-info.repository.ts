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

  /** Inserts a file a peer sent, or replaces the one with its id (a changed file sent again). */
  async upsertImported(tx: Tx, info: FileInfoEntity): Promise<void> {
    await tx
      .createQueryBuilder()
      .insert()
      .into(FileInfoEntity)
      .values({ ...info })
      .updateEntity(false)
      .orUpdate(['path', 'name', 'extension', 'size', 'mime_type', 'content_hash', 'update_at', 'delete_at'], ['id'])
      .execute();
  }

  /**
   * A file that arrived after the post naming it: attaches it to that post, if the post is in the file's channel,
   * by the file's creator, came from the same remote and is not deleted. The post row is rewritten as it is, which
   * stamps it with the channel's next sequence (trigger stamp_channel_seq): a server that relays it sends it again,
   * with its file this time. Returns the post, or null when none.
   */
  async attachToReferencingPost(tx: Tx, fileId: string, now: number): Promise<{ post_id: string; root_id: string } | null> {
    const rows: Array<{ post_id: string; root_id: string }> = await tx.query(
      `WITH attached AS (
         UPDATE file_infos f SET post_id = p.id, update_at = $2
           FROM posts p
          WHERE f.id = $1 AND f.post_id = '' AND p.channel_id = f.channel_id AND p.user_id = f.creator_id
            AND p.remote_id IS NOT DISTINCT FROM f.remote_id AND p.delete_at = 0 AND p.file_ids @> jsonb_build_array(f.id::text)
          RETURNING p.id AS post_id, p.root_id
       ), touched AS (
         UPDATE posts SET file_ids = posts.file_ids WHERE posts.id IN (SELECT post_id FROM attached) RETURNING posts.id
       )
       SELECT attached.post_id, attached.root_id FROM attached JOIN touched ON touched.id = attached.post_id`,
      [fileId, now],
    );
    return rows[0] ?? null;
  }

  async attachToPost(tx: Tx, ids: string[], postId: string, now: number): Promise<void> {
    if (ids.length) await tx.getRepository(FileInfoEntity).update({ id: In(ids) }, { post_id: postId, update_at: now });
  }

  async softDeleteForPost(tx: Tx, postId: string, now: number): Promise<void> {
    await tx.getRepository(FileInfoEntity).update({ post_id: postId, delete_at: 0 }, { delete_at: now, update_at: now });
  }
}
