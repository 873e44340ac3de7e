import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Not, Repository } from 'typeorm';
import type { Tx } from '../../database/transaction-runner.js';
import { SharedChannelAttachmentEntity } from './shared-channel-attachment.entity.js';
import { SharedChannelRemoteEntity } from './shared-channel-remote.entity.js';
import { SharedChannelUserEntity } from './shared-channel-user.entity.js';
import { SharedChannelEntity } from './shared-channel.entity.js';

/** Mattermost's SharedChannelRemoteFilterOpts, for one remote. */
export interface SharedChannelRemoteFilter {
  includeUnconfirmed?: boolean;
  excludeConfirmed?: boolean;
  excludeHome?: boolean;
  excludeRemote?: boolean;
  includeDeleted?: boolean;
}

export type PostCursor = Pick<
  SharedChannelRemoteEntity,
  'last_post_create_at' | 'last_post_create_id' | 'last_post_update_at' | 'last_post_update_id'
>;
export type SeqCursors = Pick<
  SharedChannelRemoteEntity,
  'last_post_seq' | 'last_post_seq_id' | 'last_reaction_seq' | 'last_reaction_key' | 'last_ack_seq' | 'last_ack_key'
>;

@Injectable()
export class SharedChannelRepository {
  constructor(
    @InjectRepository(SharedChannelEntity) private readonly shares: Repository<SharedChannelEntity>,
    @InjectRepository(SharedChannelRemoteEntity) private readonly remotes: Repository<SharedChannelRemoteEntity>,
    @InjectRepository(SharedChannelUserEntity) private readonly users: Repository<SharedChannelUserEntity>,
    @InjectRepository(SharedChannelAttachmentEntity) private readonly attachments: Repository<SharedChannelAttachmentEntity>,
  ) {}

  findShare(channelId: string): Promise<SharedChannelEntity | null> {
    return this.shares.findOneBy({ channel_id: channelId });
  }

  findSharesByTeam(teamId: string, offset: number, limit: number): Promise<SharedChannelEntity[]> {
    return this.shares.find({ where: { team_id: teamId }, order: { channel_id: 'ASC' }, skip: offset, take: limit });
  }

  async insertShare(tx: Tx, share: SharedChannelEntity): Promise<boolean> {
    const r = await tx.createQueryBuilder().insert().into(SharedChannelEntity).values(share).updateEntity(false).orIgnore().returning('channel_id').execute();
    return (r.raw as unknown[]).length > 0;
  }

  /** The details a share row shows (and, on a receiver, the home's version of them). */
  async updateShareDetails(
    tx: Tx | undefined,
    channelId: string,
    fields: Partial<Pick<SharedChannelEntity, 'display_name' | 'header' | 'purpose' | 'details_update_at' | 'update_at'>>,
  ): Promise<void> {
    const repo = tx ? tx.getRepository(SharedChannelEntity) : this.shares;
    await repo.update({ channel_id: channelId }, fields);
  }

  async deleteShare(tx: Tx, channelId: string): Promise<void> {
    await tx.getRepository(SharedChannelEntity).delete({ channel_id: channelId });
  }

  /** The row for (channel, remote), deleted or not. */
  findRemote(channelId: string, remoteId: string): Promise<SharedChannelRemoteEntity | null> {
    return this.remotes.findOneBy({ channel_id: channelId, remote_id: remoteId });
  }

  findRemoteForUpdate(tx: Tx, channelId: string, remoteId: string): Promise<SharedChannelRemoteEntity | null> {
    return tx.getRepository(SharedChannelRemoteEntity).findOne({ where: { channel_id: channelId, remote_id: remoteId }, lock: { mode: 'pessimistic_write' } });
  }

  /** Remotes a channel syncs with: invited, confirmed and not uninvited. */
  findActiveRemotes(channelId: string): Promise<SharedChannelRemoteEntity[]> {
    return this.remotes.find({ where: { channel_id: channelId, delete_at: 0, is_invite_confirmed: true }, order: { remote_id: 'ASC' } });
  }

  /** Every active (channel, remote) pair of one remote. */
  findActiveChannelsOfRemote(remoteId: string): Promise<SharedChannelRemoteEntity[]> {
    return this.remotes.find({ where: { remote_id: remoteId, delete_at: 0, is_invite_confirmed: true }, order: { channel_id: 'ASC' } });
  }

  findAllRemotesOfRemote(remoteId: string, offset: number, limit: number): Promise<SharedChannelRemoteEntity[]> {
    return this.remotes.find({ where: { remote_id: remoteId }, order: { channel_id: 'ASC' }, skip: offset, take: limit });
  }

  findRemotesOfChannel(channelId: string): Promise<SharedChannelRemoteEntity[]> {
    return this.remotes.find({ where: { channel_id: channelId }, order: { remote_id: 'ASC' } });
  }

  /** Pending invites (stored while the remote was offline). */
  findUnconfirmedForRemote(remoteId: string): Promise<SharedChannelRemoteEntity[]> {
    return this.remotes.find({ where: { remote_id: remoteId, delete_at: 0, is_invite_confirmed: false } });
  }

  /** Inserts, or restores a soft-deleted row with fresh state; returns the row as stored. */
  async upsertRemote(tx: Tx, row: SharedChannelRemoteEntity): Promise<void> {
    await tx
      .createQueryBuilder()
      .insert()
      .into(SharedChannelRemoteEntity)
      .values(row)
      .updateEntity(false)
      .orUpdate(
        [
          'creator_id', 'update_at', 'delete_at', 'is_invite_accepted', 'is_invite_confirmed',
          'last_post_update_at', 'last_post_update_id', 'last_post_create_at', 'last_post_create_id',
          'last_members_sync_at', 'last_post_seq', 'last_post_seq_id', 'last_reaction_seq', 'last_reaction_key',
          'last_ack_seq', 'last_ack_key',
          'last_user_event_seq', 'last_member_event_seq',
          'backfill_state', 'backfill_since', 'backfill_until', 'backfill_cursor_at', 'backfill_cursor_id', 'backfill_seq',
          'backfill_total', 'backfill_sent', 'backfill_refused', 'backfill_started_at', 'backfill_finished_at',
        ],
        ['channel_id', 'remote_id'],
      )
      .execute();
  }

  async updateRemote(tx: Tx | undefined, id: string, fields: Partial<SharedChannelRemoteEntity>): Promise<void> {
    const repo = tx ? tx.getRepository(SharedChannelRemoteEntity) : this.remotes;
    await repo.update({ id }, fields as never);
  }

  /** Updates the row only while it still has the `where` values; whether it did. */
  async updateRemoteIf(id: string, where: Partial<SharedChannelRemoteEntity>, fields: Partial<SharedChannelRemoteEntity>): Promise<boolean> {
    const r = await this.remotes.update({ id, ...where } as never, fields as never);
    return (r.affected ?? 0) > 0;
  }

  /**
   * Begins a history backfill on the row (only from `expectedState`): backfill_seq is the channel's change sequence
   * read under a share lock on the channel row, which every post, reaction and acknowledgement write of the channel
   * takes (its seq trigger updates channels.last_seq). So whatever is stamped after backfill_seq commits after this
   * row says so, and a reader that sees such an item also sees the walk. The backfill_seq written, or null.
   */
  async beginBackfill(id: string, expectedState: string, channelId: string, fields: Partial<SharedChannelRemoteEntity>): Promise<number | null> {
    const names = Object.keys(fields);
    const rows: Array<{ backfill_seq: string }> = await this.remotes.query(
      `WITH ch AS (SELECT last_seq FROM channels WHERE id = $3 FOR SHARE)
       UPDATE shared_channel_remotes
          SET backfill_seq = COALESCE((SELECT last_seq FROM ch), 0)${names.map((n, i) => `, "${n}" = $${i + 4}`).join('')}
        WHERE id = $1 AND backfill_state = $2
       RETURNING backfill_seq`,
      [id, expectedState, channelId, ...names.map((n) => (fields as Record<string, unknown>)[n])],
    );
    return rows.length ? Number(rows[0].backfill_seq) : null;
  }

  /** Confirmed, live rows with a history backfill to begin or continue, whose remote is online. */
  async findBackfillsToRun(onlineSince: number): Promise<Array<{ channel_id: string; remote_id: string; backfill_state: string }>> {
    return this.remotes.query(
      `SELECT scr.channel_id, scr.remote_id, scr.backfill_state FROM shared_channel_remotes scr
         JOIN remote_clusters rc ON rc.remote_id = scr.remote_id AND rc.delete_at = 0 AND rc.last_ping_at > $1
        WHERE scr.delete_at = 0 AND scr.is_invite_confirmed AND scr.backfill_state IN ('requested', 'running')`,
      [onlineSince],
    );
  }

  async softDeleteRemotesOfChannel(tx: Tx, channelId: string, now: number): Promise<void> {
    await tx.getRepository(SharedChannelRemoteEntity).update({ channel_id: channelId, delete_at: 0 }, { delete_at: now, update_at: now });
  }

  async countActiveRemotes(tx: Tx, channelId: string): Promise<number> {
    return tx.getRepository(SharedChannelRemoteEntity).countBy({ channel_id: channelId, delete_at: 0 });
  }

  findChannelUsers(channelId: string, remoteId: string, userIds: string[]): Promise<SharedChannelUserEntity[]> {
    return userIds.length
      ? this.users.findBy({ channel_id: channelId, remote_id: remoteId, user_id: In(userIds) })
      : Promise.resolve([]);
  }

  async upsertChannelUsers(rows: SharedChannelUserEntity[]): Promise<void> {
    if (!rows.length) return;
    await this.users
      .createQueryBuilder()
      .insert()
      .into(SharedChannelUserEntity)
      .values(rows)
      .updateEntity(false)
      .orUpdate(['last_sync_at', 'last_picture_sync_at'], ['user_id', 'channel_id', 'remote_id'])
      .execute();
  }

  findAttachments(remoteId: string, fileIds: string[]): Promise<SharedChannelAttachmentEntity[]> {
    return fileIds.length ? this.attachments.findBy({ remote_id: remoteId, file_id: In(fileIds) }) : Promise.resolve([]);
  }

  async upsertAttachment(row: SharedChannelAttachmentEntity): Promise<void> {
    await this.attachments
      .createQueryBuilder()
      .insert()
      .into(SharedChannelAttachmentEntity)
      .values(row)
      .updateEntity(false)
      .orUpdate(['last_sync_at', 'upload_id'], ['file_id', 'remote_id'])
      .execute();
  }

  // ---- sharing lifecycle (SharedChannelService) -----------------------------------------------------------

  /** Locks the share row, so invites and uninvites of one channel decide one after the other. */
  findShareForUpdate(tx: Tx, channelId: string): Promise<SharedChannelEntity | null> {
    return tx.getRepository(SharedChannelEntity).findOne({ where: { channel_id: channelId }, lock: { mode: 'pessimistic_write' } });
  }

  /** Shares of a team, optionally only among the given channels (a member's). */
  findSharesOfTeam(teamId: string, onlyChannelIds: string[] | null, offset: number, limit: number): Promise<SharedChannelEntity[]> {
    if (onlyChannelIds && !onlyChannelIds.length) return Promise.resolve([]);
    return this.shares.find({
      where: { team_id: teamId, ...(onlyChannelIds ? { channel_id: In(onlyChannelIds) } : {}) },
      order: { channel_id: 'ASC' },
      skip: offset,
      take: limit,
    });
  }

  /** Remotes of a channel that are not uninvited, confirmed or still pending. */
  findLiveRemotesOfChannel(channelId: string, tx?: Tx): Promise<SharedChannelRemoteEntity[]> {
    const repo = tx ? tx.getRepository(SharedChannelRemoteEntity) : this.remotes;
    return repo.find({ where: { channel_id: channelId, delete_at: 0 }, order: { remote_id: 'ASC' } });
  }

  /** Channels a remote is (still) invited to, confirmed or pending, in channel id order. */
  async findLiveChannelIdsOfRemote(remoteId: string, tx?: Tx): Promise<string[]> {
    const repo = tx ? tx.getRepository(SharedChannelRemoteEntity) : this.remotes;
    const rows = await repo.find({ select: { channel_id: true }, where: { remote_id: remoteId, delete_at: 0 }, order: { channel_id: 'ASC' } });
    return rows.map((r) => r.channel_id);
  }

  /**
   * Active synthetic users of `remoteId` that are in no channel still shared with another live connection: after a
   * connection's shares are removed (in the same transaction), those that came only from it. Locked for the update.
   */
  async findUsersOnlyFrom(tx: Tx, remoteId: string): Promise<string[]> {
    const rows: Array<{ id: string }> = await tx.query(
      `SELECT u.id FROM users u
        WHERE u.remote_id = $1 AND u.delete_at = 0
          AND NOT EXISTS (
            SELECT 1 FROM channel_members m
              JOIN shared_channel_remotes scr ON scr.channel_id = m.channel_id AND scr.delete_at = 0 AND scr.remote_id <> $1
              JOIN remote_clusters rc ON rc.remote_id = scr.remote_id AND rc.delete_at = 0
             WHERE m.user_id = u.id)
        ORDER BY u.id
        FOR UPDATE OF u`,
      [remoteId],
    );
    return rows.map((r) => r.id);
  }

  /** GET /remotecluster/{id}/sharedchannelremotes, with Mattermost's filters (sqlstore GetRemotes). */
  findRemotesOfRemoteFiltered(remoteId: string, filter: SharedChannelRemoteFilter, offset: number, limit: number): Promise<SharedChannelRemoteEntity[]> {
    const q = this.remotes.createQueryBuilder('scr').where('scr.remote_id = :remoteId', { remoteId });
    if (filter.excludeConfirmed) q.andWhere('scr.is_invite_confirmed = false');
    else if (!filter.includeUnconfirmed) q.andWhere('scr.is_invite_confirmed = true');
    if (filter.excludeHome || filter.excludeRemote) {
      q.innerJoin(SharedChannelEntity, 'sc', 'sc.channel_id = scr.channel_id').andWhere('sc.home = :home', { home: !filter.excludeHome });
    }
    if (!filter.includeDeleted) q.andWhere('scr.delete_at = 0');
    return q.orderBy('scr.id', 'ASC').offset(offset).limit(limit).getMany();
  }

  /** Uninvited remotes that have not been told yet. */
  findPendingUnshares(remoteId: string, tx?: Tx): Promise<SharedChannelRemoteEntity[]> {
    const repo = tx ? tx.getRepository(SharedChannelRemoteEntity) : this.remotes;
    return repo.find({ where: { remote_id: remoteId, delete_at: Not(0), unshare_pending: true }, order: { channel_id: 'ASC' } });
  }

  /** Remotes with an invite or an unshare waiting to be delivered. */
  async findRemoteIdsWithPendingWork(): Promise<string[]> {
    const rows = await this.remotes
      .createQueryBuilder('scr')
      .select('DISTINCT scr.remote_id', 'remote_id')
      .where('(scr.delete_at = 0 AND scr.is_invite_confirmed = false) OR (scr.delete_at <> 0 AND scr.unshare_pending = true)')
      .getRawMany<{ remote_id: string }>();
    return rows.map((r) => r.remote_id);
  }

  async setUnsharePending(tx: Tx | undefined, channelId: string, remoteId: string, pending: boolean): Promise<void> {
    const repo = tx ? tx.getRepository(SharedChannelRemoteEntity) : this.remotes;
    await repo.update({ channel_id: channelId, remote_id: remoteId }, { unshare_pending: pending });
  }

  /** Clears the flag only if the row is still uninvited (a re-invite in between keeps its own state). */
  async markUnshareDelivered(channelId: string, remoteId: string): Promise<void> {
    await this.remotes.update({ channel_id: channelId, remote_id: remoteId, delete_at: Not(0) }, { unshare_pending: false });
  }

  async deleteRemoteRow(tx: Tx, id: string): Promise<void> {
    await tx.getRepository(SharedChannelRemoteEntity).delete({ id });
  }

  async softDeleteRemote(tx: Tx, id: string, now: number, unsharePending: boolean): Promise<void> {
    await tx.getRepository(SharedChannelRemoteEntity).update({ id }, { delete_at: now, update_at: now, unshare_pending: unsharePending });
  }
}
