import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber, IdColumn, MsColumn } from '../../../database/columns.js';

/** Mattermost's FileInfo. `path` is the storage key, never shown to clients. */
@Entity('file_infos')
@Index('idx_file_infos_post_id', ['post_id'])
@Index('idx_file_infos_channel_id', ['channel_id'])
export class FileInfoEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 }) id: string;
  @IdColumn() creator_id: string;
  @Column({ type: 'varchar', length: 26, default: '' }) post_id: string;
  @IdColumn() channel_id: string;
  @MsColumn() create_at: number;
  @MsColumn() update_at: number;
  @MsColumn() delete_at: number;
  @Column({ type: 'varchar', length: 512 }) path: string;
  @Column({ type: 'varchar', length: 256 }) name: string;
  @Column({ type: 'varchar', length: 64, default: '' }) extension: string;
  @Column({ type: 'bigint', transformer: bigintToNumber }) size: number;
  @Column({ type: 'varchar', length: 256, default: '' }) mime_type: string;
  @Column({ type: 'int', default: 0 }) width: number;
  @Column({ type: 'int', default: 0 }) height: number;
  @Column({ type: 'boolean', default: false }) has_preview_image: boolean;
  /** SHA-256 of the bytes, hex: lets transfers be verified and skipped when unchanged. */
  @Column({ type: 'char', length: 64, default: '' }) content_hash: string;
  @IdColumn({ nullable: true }) remote_id: string | null;
}
