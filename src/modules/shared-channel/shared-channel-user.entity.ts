import { Entity, Index, PrimaryColumn } from 'typeorm';
import { IdColumn, MsColumn } from '../../database/columns.js';

/** Mattermost's SharedChannelUser: user X was last pushed to remote R for channel C at last_sync_at. */
@Entity('shared_channel_users')
@Index('uq_shared_channel_users', ['user_id', 'channel_id', 'remote_id'], { unique: true })
export class SharedChannelUserEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 }) id: string;
  @IdColumn() user_id: string;
  @IdColumn() channel_id: string;
  @IdColumn() remote_id: string;
  @MsColumn() create_at: number;
  @MsColumn() last_sync_at: number;
  /** last_picture_update of the image last pushed (0 = none yet). */
  @MsColumn() last_picture_sync_at: number;
}
