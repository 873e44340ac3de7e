import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import type { Tx } from '../../../database/transaction-runner.js';
import { ChannelMemberEntity } from './channel-member.entity.js';
import { ChannelEntity } from './channel.entity.js';

@Injectable()
export class ChannelRepository {
  constructor(
    @InjectRepository(ChannelEntity) private readonly channels: Repository<ChannelEntity>,
    @InjectRepository(ChannelMemberEntity) private readonly members: Repository<ChannelMemberEntity>,
  ) {}

  findById(id: string): Promise<ChannelEntity | null> {
    return this.channels.findOneBy({ id });
  }

  findByIds(ids: string[]): Promise<ChannelEntity[]> {
    return ids.length ? this.channels.findBy({ id: In(ids) }) : Promise.resolve([]);
  }

  findByIdForUpdate(tx: Tx, id: string): Promise<ChannelEntity | null> {
    return tx.getRepository(ChannelEntity).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  /** D and G channels are keyed by their deterministic name within team ''. */
  findByTeamAndName(teamId: string, name: string): Promise<ChannelEntity | null> {
    return this.channels.findOneBy({ team_id: teamId, name });
  }

  /** Inserts unless (team_id, name) or the id is taken; true when written. */
  async insertIfFree(tx: Tx, channel: ChannelEntity): Promise<boolean> {
    const r = await tx.createQueryBuilder().insert().into(ChannelEntity).values(channel).updateEntity(false).orIgnore().returning('id').execute();
    return (r.raw as unknown[]).length > 0;
  }

  async update(tx: Tx, id: string, fields: Partial<ChannelEntity>): Promise<void> {
    await tx.getRepository(ChannelEntity).update({ id }, fields);
  }

  /** Counts a new post and moves last_post_at forward, never backward. */

  findMember(channelId: string, userId: string): Promise<ChannelMemberEntity | null> {
    return this.members.findOneBy({ channel_id: channelId, user_id: userId });
  }

  /**
   * The membership, only while it gives access: in a team's channel the user must still be a member of the team
   * (a membership left behind by a removal, from before removals took channel memberships along, counts for nothing).
   */
  findMemberInGoodStanding(channelId: string, userId: string): Promise<ChannelMemberEntity | null> {
    return this.members
      .createQueryBuilder('m')
      .innerJoin(ChannelEntity, 'c', 'c.id = m.channel_id')
      .where('m.channel_id = :channelId AND m.user_id = :userId', { channelId, userId })
      .andWhere(
        `(c.team_id = '' OR EXISTS (SELECT 1 FROM team_members t WHERE t.team_id = c.team_id AND t.user_id = m.user_id AND t.delete_at = 0))`,
      )
      .getOne();
  }

  /** The user's memberships in the channels of a team (all types, deleted channels too), locked for removal. */
  async findMembershipsInTeamForUpdate(tx: Tx, teamId: string, userId: string): Promise<string[]> {
    const rows = (await tx.query(
      `SELECT m.channel_id FROM channel_members m JOIN channels c ON c.id = m.channel_id
        WHERE c.team_id = $1 AND m.user_id = $2 ORDER BY m.channel_id FOR UPDATE OF m`,
      [teamId, userId],
    )) as Array<{ channel_id: string }>;
    return rows.map((r) => r.channel_id);
  }

  /** Inserts the membership unless it exists; true when written. */
  async insertMemberIfAbsent(tx: Tx, member: ChannelMemberEntity): Promise<boolean> {
    const r = await tx.createQueryBuilder().insert().into(ChannelMemberEntity).values(member).updateEntity(false).orIgnore().returning('user_id').execute();
    return (r.raw as unknown[]).length > 0;
  }

  async deleteMember(tx: Tx, channelId: string, userId: string): Promise<boolean> {
    const r = await tx.getRepository(ChannelMemberEntity).delete({ channel_id: channelId, user_id: userId });
    return (r.affected ?? 0) > 0;
  }

  listMembers(channelId: string, offset: number, limit: number): Promise<ChannelMemberEntity[]> {
    return this.members.find({ where: { channel_id: channelId }, order: { user_id: 'ASC' }, skip: offset, take: limit });
  }

  /** The caller's non-deleted channels in a team, plus their D and G channels (Mattermost includes those). */
  findChannelsOfUserInTeam(userId: string, teamId: string): Promise<ChannelEntity[]> {
    return this.channels
      .createQueryBuilder('c')
      .innerJoin(ChannelMemberEntity, 'm', 'm.channel_id = c.id AND m.user_id = :userId', { userId })
      .where("(c.team_id = :teamId OR c.team_id = '') AND c.delete_at = 0", { teamId })
      .orderBy('c.display_name', 'ASC')
      .addOrderBy('c.id', 'ASC')
      .getMany();
  }

  /** The memberships among these channels and users: one indexed query whatever the sizes. */
  async membersAmong(channelIds: string[], userIds: string[]): Promise<Array<{ channel_id: string; user_id: string }>> {
    if (!channelIds.length || !userIds.length) return [];
    return this.members.query('SELECT channel_id, user_id FROM channel_members WHERE channel_id = ANY($1) AND user_id = ANY($2)', [channelIds, userIds]);
  }

  async isMemberOfAny(userId: string, channelIds: string[]): Promise<boolean> {
    if (!channelIds.length) return false;
    return this.members.exists({ where: { user_id: userId, channel_id: In(channelIds) } });
  }

}
