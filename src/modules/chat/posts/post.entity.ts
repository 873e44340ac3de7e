import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber, IdColumn, MsColumn } from '../../../database/columns.js';

/**
 * Mattermost's Post. The (channel_id, create_at, id) and (channel_id, update_at, id) indexes serve the
 * sync engine's two-phase cursors (protocol reference 5.4) as well as the channel's post list.
 */
@Entity('posts')
@Index('idx_posts_channel_create_at_id', ['channel_id', 'create_at', 'id'])
@Index('idx_posts_channel_update_at_id', ['channel_id', 'update_at', 'id'])
@Index('idx_posts_root_id', ['root_id'])
@Index('idx_posts_channel_seq', ['channel_id', 'seq'])
// The consistency check's digests read this alone (an index-only scan): (channel_id, id) INCLUDE (update_at,
// delete_at, seq, remote_id) WHERE type NOT LIKE 'system\_%'. TypeORM cannot declare INCLUDE: the migration does.
@Index('idx_posts_consistency', { synchronize: false })
export class PostEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 }) id: string;
  @MsColumn() create_at: number;
  @MsColumn() update_at: number;
  @MsColumn() edit_at: number;
  @MsColumn() delete_at: number;
  @Column({ type: 'boolean', default: false }) is_pinned: boolean;
  @IdColumn() user_id: string;
  @IdColumn() channel_id: string;
  @Column({ type: 'varchar', length: 26, default: '' }) root_id: string;
  @Column({ type: 'varchar', length: 26, default: '' }) original_id: string;
  @Column({ type: 'text', default: '' }) message: string;
  @Column({ type: 'varchar', length: 64, default: '' }) type: string;
  @Column({ type: 'jsonb', nullable: true }) props: Record<string, unknown> | null;
  @Column({ type: 'varchar', length: 1000, default: '' }) hashtags: string;
  @Column({ type: 'jsonb', default: [] }) file_ids: string[];
  @Column({ type: 'varchar', length: 64, default: '' }) pending_post_id: string;
  /** Connection id of the server the post came from; null for local posts. */
  @IdColumn({ nullable: true }) remote_id: string | null;
  /** Channel change sequence at this row's last write (set by trigger; see ChannelEntity.last_seq). */
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber }) seq: number;
}

/** The columns a post is written with (seq comes from the channel-sequence trigger), in one order for raw SQL. */
export const POST_WRITE_COLUMNS = ['id', 'create_at', 'update_at', 'edit_at', 'delete_at', 'is_pinned', 'user_id', 'channel_id', 'root_id',
  'original_id', 'message', 'type', 'props', 'hashtags', 'file_ids', 'pending_post_id', 'remote_id'] as const;

/** One post as query parameters in POST_WRITE_COLUMNS order (JSON columns serialised), appended to `params`. */
export function pushPostParams(params: unknown[], post: Omit<PostEntity, 'seq'>): string[] {
  return POST_WRITE_COLUMNS.map((c) => {
    params.push(c === 'props' || c === 'file_ids' ? JSON.stringify(post[c] ?? (c === 'file_ids' ? [] : {})) : post[c]);
    return `$${params.length}`;
  });
}
