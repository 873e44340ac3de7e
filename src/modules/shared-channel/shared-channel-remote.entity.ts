import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber, IdColumn, MsColumn } from '../../database/columns.js';

/**
 * Mattermost's SharedChannelRemote: one remote of one shared channel, with the sync cursors.
 * Posts: two-phase (create_at, id) then (update_at, id) cursors of protocol section 5.4. Reactions and
 * acknowledgements carry state with their own update_at, so they get their own (update_at, key) cursors
 * rather than riding on the post cursor as Mattermost's do.
 */
@Entity('shared_channel_remotes')
@Index('uq_shared_channel_remotes_channel_remote', ['channel_id', 'remote_id'], { unique: true })
@Index('idx_shared_channel_remotes_remote_id', ['remote_id'])
export class SharedChannelRemoteEntity {
  @PrimaryColumn({ type: 'varchar', length: 26 }) id: string;
  @IdColumn() channel_id: string;
  @IdColumn() creator_id: string;
  @MsColumn() create_at: number;
  @MsColumn() update_at: number;
  @MsColumn() delete_at: number;
  @Column({ type: 'boolean', default: false }) is_invite_accepted: boolean;
  @Column({ type: 'boolean', default: false }) is_invite_confirmed: boolean;
  @IdColumn() remote_id: string;
  @MsColumn() last_post_update_at: number;
  /** JSON name "last_post_id", as Mattermost's LastPostUpdateID tag. */
  @Column({ type: 'varchar', length: 26, default: '' }) last_post_update_id: string;
  @MsColumn() last_post_create_at: number;
  @Column({ type: 'varchar', length: 26, default: '' }) last_post_create_id: string;
  @MsColumn() last_members_sync_at: number;
  /**
   * The cursors the sync engine really advances: (seq, key) over the channel's change sequence, which follows
   * commit order (ChannelEntity.last_seq). Origin timestamps cannot serve: a slower transaction, or a post relayed
   * late from another remote, can carry a timestamp below a cursor that has already moved on. The Mattermost
   * cursor fields above are kept up to date for the API.
   */
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber }) last_post_seq: number;
  @Column({ type: 'varchar', length: 26, default: '' }) last_post_seq_id: string;
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber }) last_reaction_seq: number;
  /** user_id:post_id:emoji_name of the last reaction sent at last_reaction_seq. */
  @Column({ type: 'varchar', length: 128, default: '' }) last_reaction_key: string;
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber }) last_ack_seq: number;
  /** user_id:post_id of the last acknowledgement sent at last_ack_seq. */
  @Column({ type: 'varchar', length: 64, default: '' }) last_ack_key: string;
  /**
   * Not a Mattermost field, never in JSON. Set when the remote was uninvited after it had accepted the channel and
   * has not yet been told (sharedchannel_unshare); the row stays soft-deleted and the message goes out when the
   * remote is next reachable. Cleared once the remote answered, or when a new invite is confirmed.
   */
  @Column({ type: 'boolean', default: false }) unshare_pending: boolean;
  /** Cursor over the change journal for status and profile changes of users in this channel. */
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber }) last_user_event_seq: number;
  /**
   * Cursor over the change journal for member_added/member_removed of this channel: the membership sync sends the
   * net change per user after it. 0 on a new or re-invited remote, so the first pass sends every current member.
   * last_members_sync_at (Mattermost's timestamp cursor) is kept for the API only: two changes in one millisecond
   * across a batch boundary would make a timestamp cursor skip one.
   */
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber }) last_member_event_seq: number;
  /**
   * Where the post cursor started when the sync engine first ran for this remote (history before the share is not
   * sent, as Mattermost does not send it). A post belongs to what this remote should hold when it came from there,
   * or when it was written here after this point (seq > first_post_seq): the consistency check compares exactly that.
   */
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber }) first_post_seq: number;
  /**
   * Not a Mattermost field, never in JSON. On the home: the version (the channel's update_at) of its display name,
   * header and purpose this remote has (sent over mmfed_channel_details, or passed over for a Mattermost peer).
   */
  @MsColumn() last_details_update_at: number;

  // ---- history backfill (not in Mattermost, never in its JSON fields) ----------------------------------------------
  // The channel's posts from before the share (seq <= first_post_seq), sent on request oldest first by
  // (create_at, id), with their reactions, acknowledgements, files and users, through the sync streams. Written by the
  // invite (the request) and by the sync engine's backfill (the walk); see sync/backfill.

  /** '' none asked; requested (by an invite, until it is confirmed and the walk begins); running; done. */
  @Column({ type: 'varchar', length: 16, default: '' }) backfill_state: BackfillState;
  /** Lowest create_at asked for (0: all history); -1 when none was. */
  @Column({ type: 'bigint', default: -1, transformer: bigintToNumber }) backfill_since: number;
  /** The current walk stops below this create_at (what an earlier walk covered); 0: no bound. */
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber }) backfill_until: number;
  /** The walk's cursor, (create_at, id) of the last post handed over. */
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber }) backfill_cursor_at: number;
  @Column({ type: 'varchar', length: 26, default: '' }) backfill_cursor_id: string;
  /**
   * The channel's change sequence when the walk began: a reaction or acknowledgement on a history post stamped up to
   * here is the walk's to send (it reads them with the post); one stamped later is live sync's, which holds it until
   * the walk has handed its post over. So each goes exactly once.
   */
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber }) backfill_seq: number;
  /** Items (posts, reactions, acknowledgements) to send, sent (taken by the remote), refused (left to the retry table). */
  @Column({ type: 'int', default: 0 }) backfill_total: number;
  @Column({ type: 'int', default: 0 }) backfill_sent: number;
  @Column({ type: 'int', default: 0 }) backfill_refused: number;
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber }) backfill_started_at: number;
  @Column({ type: 'bigint', default: 0, transformer: bigintToNumber }) backfill_finished_at: number;
}

export type BackfillState = '' | 'requested' | 'running' | 'done';
