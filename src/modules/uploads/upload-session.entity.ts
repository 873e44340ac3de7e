import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber, IdColumn, MsColumn } from '../../database/columns.js';

/**
 * Mattermost's UploadSession, as a receiver keeps it: a file a peer is pushing to us (protocol 1.7 and 7). The id is
 * the sender's, so a sender that lost its connection half-way asks for the same session again and resumes at
 * `file_offset`, the number of bytes already on disk here.
 */
@Entity('upload_sessions')
@Index('idx_upload_sessions_remote_id', ['remote_id'])
export class UploadSessionEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 }) id: string;
  /** "attachment" (from peers) or "import". */
  @Column({ type: 'varchar', length: 32 }) type: string;
  @MsColumn() create_at: number;
  /** The author of the post the file belongs to: creator of the FileInfo. */
  @IdColumn() user_id: string;
  @IdColumn() channel_id: string;
  @Column({ type: 'varchar', length: 256 }) filename: string;
  @Column({ type: 'bigint', transformer: bigintToNumber }) file_size: number;
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber }) file_offset: number;
  /** The connection that sent it; only that remote may send its bytes. */
  @IdColumn() remote_id: string;
  /** The FileInfo id on the sender, kept here: the post's file_ids resolve on both sides. */
  @IdColumn() req_file_id: string;
  /** Storage key of the partial file while bytes arrive (never serialised). */
  @Column({ type: 'varchar', length: 512 }) path: string;
  /** Set when the last byte arrived and the FileInfo exists. */
  @MsColumn() complete_at: number;
}
