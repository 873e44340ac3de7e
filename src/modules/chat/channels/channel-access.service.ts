import { Injectable } from '@nestjs/common';
import { isSystemAdmin } from '../../auth/permissions.js';
import type { AuthContext } from '../../auth/auth-context.js';
import { ChatErrors } from '../chat.errors.js';
import { LOCAL_ORIGIN, type ChangeOrigin } from '../events/change-event.types.js';
import { TeamRepository } from '../teams/team.repository.js';
import type { TeamEntity } from '../teams/team.entity.js';
import type { ChannelEntity } from './channel.entity.js';
import { ChannelRepository } from './channel.repository.js';

/** What a write does: post (create or edit posts), react (reactions, acknowledgements), manage (the rest). */
export type ChannelWriteAction = 'post' | 'react' | 'manage';

/** A write the core rules already allow, put to the registered policies. */
export interface ChannelWriteAttempt {
  auth: AuthContext;
  channel: ChannelEntity;
  action: ChannelWriteAction;
  /** Who makes the change: this server's users (remoteId null) or content applied from a peer. */
  origin: ChangeOrigin;
  systemAdmin: boolean;
  /** The caller is a member of the channel with scheme_admin. */
  channelAdmin: boolean;
}

/**
 * An extra rule on writes, registered by a module the core does not know (e.g. read-only shares). It refuses
 * by throwing an AppError; it cannot grant what the core rules refuse.
 */
export type ChannelWritePolicy = (attempt: ChannelWriteAttempt) => void | Promise<void>;

/**
 * Mattermost's read and write rules for teams and channels, in one place: system admins may do everything;
 * public channels are readable by team members; private, direct and group channels only by their members;
 * only members post. A channel membership in a team counts only while the user is still in that team.
 */
@Injectable()
export class ChannelAccess {
  private readonly writePolicies: ChannelWritePolicy[] = [];

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
    if (await this.channels.findMemberInGoodStanding(channelId, auth.userId)) return channel;
    if (channel.type === 'O' && (await this.teams.findActiveMember(channel.team_id, auth.userId))) return channel;
    throw ChatErrors.notChannelMember();
  }

  async isChannelAdmin(channelId: string, userId: string): Promise<boolean> {
    return !!(await this.channels.findMember(channelId, userId))?.scheme_admin;
  }

  /** Whether the user is a member of at least one of the channels. */
  isMemberOfAny(userId: string, channelIds: string[]): Promise<boolean> {
    return this.channels.isMemberOfAny(userId, channelIds);
  }

  /** Which of `userIds` are members of which of `channelIds` (deleted channels included): one query. */
  channelMembersAmong(channelIds: string[], userIds: string[]): Promise<Array<{ channel_id: string; user_id: string }>> {
    return this.channels.membersAmong(channelIds, userIds);
  }

  /** Which of `userIds` are active members of which of `teamIds`: one query. */
  teamMembersAmong(teamIds: string[], userIds: string[]): Promise<Array<{ team_id: string; user_id: string }>> {
    return this.teams.activeMembersAmong(teamIds, userIds);
  }

  /** Adds a rule every write must also pass; modules register theirs at start-up. */
  registerWritePolicy(policy: ChannelWritePolicy): void {
    this.writePolicies.push(policy);
  }

  /**
   * Write access (post, react, acknowledge, manage members): membership; admins too. Deleted channels refuse.
   * Then every registered write policy is consulted.
   */
  async writable(auth: AuthContext, channelId: string, action: ChannelWriteAction = 'manage', origin: ChangeOrigin = LOCAL_ORIGIN): Promise<ChannelEntity> {
    const systemAdmin = isSystemAdmin(auth.roles);
    // Both reads at once (the pool runs them in parallel): this is on every post, reaction and edit.
    const [channel, member] = await Promise.all([this.channel(channelId), systemAdmin ? null : this.channels.findMemberInGoodStanding(channelId, auth.userId)]);
    if (channel.delete_at) throw ChatErrors.channelDeleted();
    if (!systemAdmin && !member) throw ChatErrors.notChannelMember();
    for (const policy of this.writePolicies) {
      await policy({ auth, channel, action, origin, systemAdmin, channelAdmin: !!member?.scheme_admin });
    }
    return channel;
  }
}
