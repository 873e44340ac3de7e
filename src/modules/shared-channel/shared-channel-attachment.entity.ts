import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { IdColumn, MsColumn } from '../../database/columns.js';

/** Mattermost's SharedChannelAttachment: file F was pushed to remote R (re-push when the file changed). */
@Entity('shared_channel_attachments')
@Index('uq_shared_channel_attachments', ['file_id', 'remote_id'], { unique: true })
export class SharedChannelAttachmentEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 }) id: string;
  @IdColumn() file_id: string;
  @IdColumn() remote_id: string;
  @MsColumn() create_at: number;
  @MsColumn() last_sync_at: number;
  /** Upload session on the receiver, so an interrupted transfer resumes at its offset. */
  @Column({ type: 'varchar', length: 26, default: '' }) upload_id: string;
}
