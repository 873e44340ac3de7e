import { Injectable } from '@nestjs/common';
import { newId } from '../../../common/ids.js';
import { TransactionRunner, type Tx } from '../../../database/transaction-runner.js';
import type { AuthContext } from '../../auth/auth-context.js';
import { AuthErrors } from '../../auth/auth.errors.js';
import { isSystemAdmin } from '../../auth/permissions.js';
import { UserDirectory } from '../../auth/user-directory.service.js';
import { ChannelAccess } from '../channels/channel-access.service.js';
import { ChannelsService } from '../channels/channels.service.js';
import { LOCAL_ORIGIN } from '../events/change-event.types.js';
import { ChangeEventsService } from '../events/change-events.service.js';
import { TEAM_ADMIN_ROLES, TEAM_USER_ROLES } from '../chat.constants.js';
import { ChatErrors } from '../chat.errors.js';
import type { CreateTeamDto } from './dto/team.dto.js';
import { TeamMemberEntity } from './team-member.entity.js';
import { TeamEntity } from './team.entity.js';
import { TeamRepository } from './team.repository.js';

@Injectable()
export class TeamsService {
  constructor(
    private readonly teams: TeamRepository,
    private readonly access: ChannelAccess,
    private readonly users: UserDirectory,
    private readonly channels: ChannelsService,
    private readonly events: ChangeEventsService,
    private readonly tx: TransactionRunner,
  ) {}

  async create(auth: AuthContext, dto: CreateTeamDto): Promise<TeamEntity> {
    const now = Date.now();
    const team = Object.assign(new TeamEntity(), {
      id: newId(),
      create_at: now,
      update_at: now,
      delete_at: 0,
      display_name: dto.display_name,
      name: dto.name,
      description: dto.description ?? '',
      email: '',
      type: dto.type,
      company_name: '',
      allowed_domains: '',
      invite_id: newId(),
      allow_open_invite: dto.allow_open_invite ?? dto.type === 'O',
    });
    await this.tx.run(async (tx) => {
      if (!(await this.teams.insertIfNameFree(tx, team))) throw ChatErrors.teamNameTaken();
      await this.addMemberTx(tx, team.id, auth.userId, true, now);
    });
    return team;
  }

  async get(auth: AuthContext, teamId: string): Promise<TeamEntity> {
    const team = await this.access.team(teamId);
    // Open teams are visible to every user, invite-only ones to their members.
    if (team.type === 'O' && team.allow_open_invite) return team;
    return this.access.assertTeamMember(auth, teamId);
  }

  myTeams(auth: AuthContext): Promise<TeamEntity[]> {
    return this.teams.findTeamsOfUser(auth.userId);
  }

  /** Team admins and system admins add anyone; anyone may join an open team themselves. */
  async addMember(auth: AuthContext, teamId: string, userId: string): Promise<TeamMemberEntity> {
    const team = await this.access.team(teamId);
    const self = userId === auth.userId;
    if (!isSystemAdmin(auth.roles)) {
      const caller = await this.teams.findActiveMember(teamId, auth.userId);
      const callerIsAdmin = !!caller?.scheme_admin;
      const selfJoinOpen = self && team.type === 'O' && team.allow_open_invite;
      if (!callerIsAdmin && !selfJoinOpen && !(caller && team.allow_open_invite)) throw AuthErrors.forbidden('add_user_to_team');
    }
    const user = await this.users.get(userId);
    if (user.delete_at) throw AuthErrors.userNotFound();
    const wasMember = !!(await this.teams.findActiveMember(teamId, userId));
    const now = Date.now();
    await this.tx.run((tx) => this.addMemberTx(tx, teamId, userId, false, now));
    if (!wasMember) this.events.notify({ kind: 'team_member_added', team_id: teamId, user_id: userId, actor_id: auth.userId, at: now });
    return (await this.teams.findActiveMember(teamId, userId))!;
  }

  /**
   * Removes the user from the team and, in the same transaction, from every channel of the team, as Mattermost's
   * LeaveTeam does: a removed user must not keep reading or posting in the team's private channels.
   */
  async removeMember(auth: AuthContext, teamId: string, userId: string): Promise<void> {
    await this.access.team(teamId);
    if (userId !== auth.userId && !isSystemAdmin(auth.roles)) {
      const caller = await this.teams.findActiveMember(teamId, auth.userId);
      if (!caller?.scheme_admin) throw AuthErrors.forbidden('remove_user_from_team');
    }
    const now = Date.now();
    const { removed, events } = await this.tx.run(async (tx) => {
      const removed = await this.teams.softDeleteMember(tx, teamId, userId, now);
      return { removed, events: await this.channels.removeFromTeamChannelsTx(tx, teamId, userId, LOCAL_ORIGIN, auth.userId) };
    });
    this.events.publish(events);
    if (removed) this.events.notify({ kind: 'team_member_removed', team_id: teamId, user_id: userId, actor_id: auth.userId, at: now });
  }

  async listMembers(auth: AuthContext, teamId: string, page: number, perPage: number): Promise<TeamMemberEntity[]> {
    await this.access.assertTeamMember(auth, teamId);
    return this.teams.listActiveMembers(teamId, page * perPage, perPage);
  }

  /** The oldest live team, for placing channels that arrive without one; null on a server with no team. */
  firstTeam(): Promise<TeamEntity | null> {
    return this.teams.findFirstTeam();
  }

  /** Used by channel creation paths that must ensure team membership (e.g. federated users). */
  addMemberTx(tx: Tx, teamId: string, userId: string, admin: boolean, now: number): Promise<void> {
    const member = Object.assign(new TeamMemberEntity(), {
      team_id: teamId,
      user_id: userId,
      roles: admin ? TEAM_ADMIN_ROLES : TEAM_USER_ROLES,
      delete_at: 0,
      scheme_user: true,
      scheme_admin: admin,
      scheme_guest: false,
      create_at: now,
    });
    return this.teams.upsertMember(tx, member);
  }
}
