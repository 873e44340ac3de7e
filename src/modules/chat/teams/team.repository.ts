import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { Tx } from '../../../database/transaction-runner.js';
import { TeamMemberEntity } from './team-member.entity.js';
import { TeamEntity } from './team.entity.js';

@Injectable()
export class TeamRepository {
  constructor(
    @InjectRepository(TeamEntity) private readonly teams: Repository<TeamEntity>,
    @InjectRepository(TeamMemberEntity) private readonly members: Repository<TeamMemberEntity>,
  ) {}

  findById(id: string): Promise<TeamEntity | null> {
    return this.teams.findOneBy({ id });
  }

  /** Inserts unless the name is taken; true when written. */
  async insertIfNameFree(tx: Tx, team: TeamEntity): Promise<boolean> {
    const r = await tx.createQueryBuilder().insert().into(TeamEntity).values(team).updateEntity(false).orIgnore().returning('id').execute();
    return (r.raw as unknown[]).length > 0;
  }

  findActiveMember(teamId: string, userId: string): Promise<TeamMemberEntity | null> {
    return this.members.findOneBy({ team_id: teamId, user_id: userId, delete_at: 0 });
  }

  /**
   * Inside a transaction that adds a channel membership: the team membership, share-locked until commit, so a
   * concurrent removal from the team waits for this transaction (and then removes the new channel membership too)
   * or has already committed (and this finds nothing).
   */
  async isActiveMemberForShare(tx: Tx, teamId: string, userId: string): Promise<boolean> {
    const rows = (await tx.query('SELECT 1 FROM team_members WHERE team_id = $1 AND user_id = $2 AND delete_at = 0 FOR SHARE', [teamId, userId])) as unknown[];
    return rows.length > 0;
  }

  /** Adds or restores a membership; returns the active row. */
  async upsertMember(tx: Tx, member: TeamMemberEntity): Promise<void> {
    await tx
      .createQueryBuilder()
      .insert()
      .updateEntity(false)
      .into(TeamMemberEntity)
      .values(member)
      .orUpdate(['delete_at', 'roles', 'scheme_admin'], ['team_id', 'user_id'])
      .execute();
  }

  async softDeleteMember(tx: Tx, teamId: string, userId: string, now: number): Promise<boolean> {
    const r = await tx.getRepository(TeamMemberEntity).update({ team_id: teamId, user_id: userId, delete_at: 0 }, { delete_at: now });
    return (r.affected ?? 0) > 0;
  }

  listActiveMembers(teamId: string, offset: number, limit: number): Promise<TeamMemberEntity[]> {
    return this.members.find({ where: { team_id: teamId, delete_at: 0 }, order: { user_id: 'ASC' }, skip: offset, take: limit });
  }

  findTeamsOfUser(userId: string): Promise<TeamEntity[]> {
    return this.teams
      .createQueryBuilder('t')
      .innerJoin(TeamMemberEntity, 'm', 'm.team_id = t.id AND m.user_id = :userId AND m.delete_at = 0', { userId })
      .where('t.delete_at = 0')
      .orderBy('t.display_name', 'ASC')
      .getMany();
  }

  /** The active memberships among these teams and users, in one query. */
  async activeMembersAmong(teamIds: string[], userIds: string[]): Promise<Array<{ team_id: string; user_id: string }>> {
    if (!teamIds.length || !userIds.length) return [];
    return this.members.query('SELECT team_id, user_id FROM team_members WHERE team_id = ANY($1) AND user_id = ANY($2) AND delete_at = 0', [teamIds, userIds]);
  }

  /** The oldest team: where channels from a remote go when its connection names no default team. */
  findFirstTeam(): Promise<TeamEntity | null> {
    return this.teams.findOne({ where: { delete_at: 0 }, order: { create_at: 'ASC', id: 'ASC' } });
  }
}
