import { Injectable } from '@nestjs/common';
import { isSystemAdmin } from '../../auth/permissions.js';
import type { AuthContext } from '../../auth/auth-context.js';
import { ChatErrors } from '../chat.errors.js';
import { TeamRepository } from '../teams/team.repository.js';
import type { TeamEntity } from '../teams/team.entity.js';
import type { ChannelEntity } from './channel.entity.js';
import { ChannelRepository } from './channel.repository.js';

/**
 * Mattermost's read and write rules for teams and channels, in one place: system admins may do everything;
 * public channels are readable by team members; private, direct and group channels only by their members;
 * only members post.
 */
@Injectable()
export class ChannelAccess {
  constructor(
    private readonly teams: TeamRepository,
    private readonly channels: ChannelRepository,
  ) {}

  async team(teamId: string): Promise<TeamEntity> {
    const team = await this.teams.findById(teamId);
    if (!team || team.delete_at) throw ChatErrors.teamNotFound();
    return team;
  }

  async assertTeamMember(auth: AuthContext, teamId: string): Promise<TeamEntity> {
    const team = await this.team(teamId);
    if (isSystemAdmin(auth.roles)) return team;
    if (!(await this.teams.findActiveMember(teamId, auth.userId))) throw ChatErrors.notTeamMember();
    return team;
  }

  async channel(channelId: string): Promise<ChannelEntity> {
    const channel = await this.channels.findById(channelId);
    if (!channel) throw ChatErrors.channelNotFound();
    return channel;
  }

  async isMember(channelId: string, userId: string): Promise<boolean> {
    return !!(await this.channels.findMember(channelId, userId));
  }

  /** Read access: the channel as the caller may see it. */
  async readable(auth: AuthContext, channelId: string): Promise<ChannelEntity> {
    const channel = await this.channel(channelId);
    if (isSystemAdmin(auth.roles)) return channel;
    if (await this.isMember(channelId, auth.userId)) return channel;
    if (channel.type === 'O' && (await this.teams.findActiveMember(channel.team_id, auth.userId))) return channel;
    throw ChatErrors.notChannelMember();
  }

  /** Write access (post, react, acknowledge, manage members): membership; admins too. Deleted channels refuse. */
  async writable(auth: AuthContext, channelId: string): Promise<ChannelEntity> {
    const channel = await this.channel(channelId);
    if (channel.delete_at) throw ChatErrors.channelDeleted();
    if (isSystemAdmin(auth.roles)) return channel;
    if (!(await this.isMember(channelId, auth.userId))) throw ChatErrors.notChannelMember();
    return channel;
  }
}
