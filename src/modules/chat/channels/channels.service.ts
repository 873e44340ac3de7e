import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppError } from '../../../common/app-error.js';
import { newId } from '../../../common/ids.js';
import { TransactionRunner, type Tx } from '../../../database/transaction-runner.js';
import type { AuthContext } from '../../auth/auth-context.js';
import { AuthErrors } from '../../auth/auth.errors.js';
import { channelPropertiesPermission, channelRolesHavePermission, isSystemAdmin } from '../../auth/permissions.js';
import { UserDirectory } from '../../auth/user-directory.service.js';
import { CHANNEL_ADMIN_ROLES, CHANNEL_USER_ROLES } from '../chat.constants.js';
import { ChatErrors } from '../chat.errors.js';
import { ChangeKind, LOCAL_ORIGIN, type ChangeEvent, type ChangeOrigin } from '../events/change-event.types.js';
import { ChangeEventsService } from '../events/change-events.service.js';
import { PostsService } from '../posts/posts.service.js';
import { TeamRepository } from '../teams/team.repository.js';
import { ChannelAccess } from './channel-access.service.js';
import { CHANNEL_DETAIL_FIELDS, type ChannelDetailsPatch, changedDetails, detailNotices } from './channel-details.js';
import { ChannelMemberEntity } from './channel-member.entity.js';
import { ChannelEntity, type ChannelType } from './channel.entity.js';
import { ChannelRepository } from './channel.repository.js';
import type { CreateChannelDto, PatchChannelDto } from './dto/channel.dto.js';

/** A channel as other modules see it (STYLE: no module imports another's entities). */
export type ChannelRecord = ChannelEntity;

/** Mattermost's DM channel name: the two user ids, sorted, joined by "__". */
export function directChannelName(a: string, b: string): string {
  return [a, b].sort().join('__');
}

/** Mattermost's GM channel name: hex SHA-1 of the sorted user ids concatenated. */
export function groupChannelName(userIds: string[]): string {
  return createHash('sha1').update([...userIds].sort().join('')).digest('hex');
}

/** A change of a channel's details a user asked for (PUT /channels/{id}/patch), before it is applied. */
export interface ChannelDetailsAttempt {
  auth: AuthContext;
  channel: ChannelEntity;
  /** The fields the caller sent (at least one differs from the channel's). */
  patch: ChannelDetailsPatch;
}

/**
 * A module that knows a channel's details belong to another server (a shared channel's home) takes the change over:
 * it returns the channel as it is afterwards, or undefined to let the chat core apply it here. It refuses by throwing
 * an AppError. Registered at start-up; the chat core does not know why.
 */
export type ChannelDetailsDelegate = (attempt: ChannelDetailsAttempt) => Promise<ChannelEntity | undefined>;

/** Who changes a channel's details: the user (here, or a remote's synthetic user) and how notices name them. */
export interface DetailsActor {
  userId: string;
  /** The name the notices show; by default the user's username here. */
  username?: string;
  /** The notices' author when the user is not known here (a remote's change relayed by the home). */
  fallbackAuthorId?: string;
}

export interface NewChannelSpec {
  id?: string;
  team_id: string;
  type: ChannelType;
  name: string;
  display_name: string;
  header?: string;
  purpose?: string;
  creator_id: string;
  shared?: boolean;
}

@Injectable()
export class ChannelsService {
  private readonly detailsDelegates: ChannelDetailsDelegate[] = [];

  constructor(
    private readonly channels: ChannelRepository,
    private readonly teams: TeamRepository,
    private readonly access: ChannelAccess,
    private readonly users: UserDirectory,
    private readonly events: ChangeEventsService,
    private readonly posts: PostsService,
    private readonly tx: TransactionRunner,
  ) {}

  async create(auth: AuthContext, dto: CreateChannelDto): Promise<ChannelEntity> {
    await this.access.assertTeamMember(auth, dto.team_id);
    const { channel, events } = await this.tx.run(async (tx) => {
      const channel = await this.insertChannel(tx, { ...dto, creator_id: auth.userId });
      const created = await this.events.record(tx, { kind: ChangeKind.ChannelCreated, channel_id: channel.id, origin_remote_id: null });
      const events = [created, await this.addMemberTx(tx, channel, auth.userId, true, LOCAL_ORIGIN)];
      return { channel, events };
    });
    this.events.publish(events.filter((e): e is ChangeEvent => !!e));
    return channel;
  }

  /** Creates (or returns the existing) DM between the caller (or an admin's choice) and another user. */
  async direct(auth: AuthContext, userIds: string[]): Promise<{ channel: ChannelEntity; created: boolean }> {
    if (!userIds.includes(auth.userId) && !isSystemAdmin(auth.roles)) throw AuthErrors.forbidden('create_direct_channel');
    const [a, b] = userIds.length === 1 ? [userIds[0], userIds[0]] : userIds;
    const participants = await this.users.findMany([a, b]);
    if (participants.length !== new Set([a, b]).size || participants.some((u) => u.delete_at)) throw AuthErrors.userNotFound();
    const name = directChannelName(a, b);
    const existing = await this.channels.findByTeamAndName('', name);
    if (existing) return { channel: existing, created: false };
    return this.createGroupLike(auth.userId, 'D', name, '', [...new Set([a, b])]);
  }

  async group(auth: AuthContext, userIds: string[]): Promise<{ channel: ChannelEntity; created: boolean }> {
    const ids = [...new Set(userIds.includes(auth.userId) ? userIds : [...userIds, auth.userId])];
    if (ids.length < 3 || ids.length > 8) throw AppError.invalidBodyParam('user_ids', 'a group message needs 3 to 8 distinct users');
    const participants = await this.users.findMany(ids);
    if (participants.length !== ids.length || participants.some((u) => u.delete_at)) throw AuthErrors.userNotFound();
    const name = groupChannelName(ids);
    const existing = await this.channels.findByTeamAndName('', name);
    if (existing) return { channel: existing, created: false };
    const displayName = participants.map((u) => u.username).sort().join(', ').slice(0, 64);
    return this.createGroupLike(auth.userId, 'G', name, displayName, ids);
  }

  get(auth: AuthContext, channelId: string): Promise<ChannelEntity> {
    return this.access.readable(auth, channelId);
  }

  /**
   * PUT /channels/{id}/patch: display name, header, purpose. As Mattermost: manage_public_channel_properties (O) or
   * manage_private_channel_properties (P), which channel members hold; membership for D and G; system admins always.
   * Each changed field gets Mattermost's system notice. A registered delegate may take the change over (a shared
   * channel homed elsewhere).
   */
  async patch(auth: AuthContext, channelId: string, dto: PatchChannelDto): Promise<ChannelEntity> {
    const channel = await this.access.writable(auth, channelId);
    if (!(await this.mayChangeDetails({ id: auth.userId, roles: auth.roles }, channel))) {
      throw AuthErrors.forbidden(channelPropertiesPermission(channel.type) ?? 'read_channel');
    }
    const patch: ChannelDetailsPatch = {};
    for (const field of CHANNEL_DETAIL_FIELDS) if (dto[field] !== undefined) patch[field] = dto[field];
    if (!Object.keys(changedDetails(channel, patch)).length) return channel;
    for (const delegate of this.detailsDelegates) {
      const taken = await delegate({ auth, channel, patch });
      if (taken) return taken;
    }
    const result = await this.tx.run((tx) => this.changeDetailsTx(tx, channelId, patch, { userId: auth.userId }, LOCAL_ORIGIN));
    this.events.publish(result.events);
    return result.channel;
  }

  /** Adds a delegate every details change is offered to first (see ChannelDetailsDelegate). */
  registerDetailsDelegate(delegate: ChannelDetailsDelegate): void {
    this.detailsDelegates.push(delegate);
  }

  /**
   * Whether a user may change the channel's details, by Mattermost's rules: system admins; otherwise a member in good
   * standing whose channel roles grant manage_public/private_channel_properties (O, P), or any member (D, G).
   */
  async mayChangeDetails(user: { id: string; roles: string }, channel: ChannelEntity): Promise<boolean> {
    if (isSystemAdmin(user.roles)) return true;
    const member = await this.channels.findMemberInGoodStanding(channel.id, user.id);
    if (!member) return false;
    const permission = channelPropertiesPermission(channel.type);
    if (!permission) return true;
    const roles = [member.roles, member.scheme_user ? 'channel_user' : '', member.scheme_admin ? 'channel_admin' : ''].join(' ');
    return channelRolesHavePermission(roles, permission);
  }

  /**
   * Applies a change of the details inside the caller's transaction, with no permission check (the caller made it):
   * the channel row locked, update_at moved forward, a notice per changed field, ChannelUpdated journalled with the
   * actor. Returns the channel as it is now and the events to publish after the commit (none when nothing changed).
   */
  async changeDetailsTx(
    tx: Tx,
    channelId: string,
    patch: ChannelDetailsPatch,
    actor: DetailsActor,
    origin: ChangeOrigin,
  ): Promise<{ channel: ChannelEntity; events: ChangeEvent[] }> {
    const channel = await this.channels.findByIdForUpdate(tx, channelId);
    if (!channel) throw ChatErrors.channelNotFound();
    const changed = changedDetails(channel, patch);
    if (!Object.keys(changed).length) return { channel, events: [] };
    const now = Date.now();
    const fields: Partial<ChannelEntity> = { ...changed, update_at: Math.max(now, channel.update_at + 1) };
    await this.channels.update(tx, channelId, fields);
    const user = await this.users.find(actor.userId);
    const author = user ? user.id : (actor.fallbackAuthorId ?? actor.userId);
    const events: ChangeEvent[] = [];
    // One millisecond apart, so they read in Mattermost's order (display name, header, purpose).
    const notices = detailNotices(actor.username ?? user?.username ?? actor.userId, channel, changed);
    for (const [i, notice] of notices.entries()) {
      const { event } = await this.posts.createSystemPostTx(tx, { channel_id: channelId, user_id: author, ...notice }, now + i);
      events.push(event);
    }
    events.push(await this.events.record(tx, { kind: ChangeKind.ChannelUpdated, channel_id: channelId, origin_remote_id: origin.remoteId, actor_id: actor.userId }, now));
    return { channel: Object.assign(channel, fields), events };
  }

  async remove(auth: AuthContext, channelId: string): Promise<void> {
    const channel = await this.access.writable(auth, channelId);
    if (channel.type === 'D' || channel.type === 'G') throw ChatErrors.channelTypeNotAllowed('direct and group channels cannot be deleted');
    const event = await this.tx.run(async (tx) => {
      const now = Date.now();
      await this.channels.update(tx, channelId, { delete_at: now, update_at: now });
      return this.events.record(tx, { kind: ChangeKind.ChannelDeleted, channel_id: channelId, origin_remote_id: null }, now);
    });
    this.events.publish(event);
  }

  /** Channel members may add team members to O and P channels; D and G membership is fixed. */
  async addMember(auth: AuthContext, channelId: string, userId: string): Promise<ChannelMemberEntity> {
    const self = userId === auth.userId;
    const channel = self ? await this.access.channel(channelId) : await this.access.writable(auth, channelId);
    if (channel.delete_at) throw ChatErrors.channelDeleted();
    if (channel.type === 'D' || channel.type === 'G') throw ChatErrors.channelTypeNotAllowed('cannot add members to direct or group channels');
    if (self && channel.type === 'P' && !isSystemAdmin(auth.roles) && !(await this.access.isMember(channelId, auth.userId))) {
      throw ChatErrors.notChannelMember();
    }
    const user = await this.users.get(userId);
    if (user.delete_at) throw AuthErrors.userNotFound();
    if (!(await this.teams.findActiveMember(channel.team_id, userId))) throw ChatErrors.notTeamMember();
    const event = await this.tx.run(async (tx) => {
      // Again under a lock: a removal from the team committing meanwhile must not leave this membership behind.
      if (!(await this.teams.isActiveMemberForShare(tx, channel.team_id, userId))) throw ChatErrors.notTeamMember();
      return this.addMemberTx(tx, channel, userId, false, LOCAL_ORIGIN, auth.userId);
    });
    if (event) this.events.publish(event);
    return (await this.channels.findMember(channelId, userId))!;
  }

  async removeMember(auth: AuthContext, channelId: string, userId: string): Promise<void> {
    const channel = userId === auth.userId ? await this.access.channel(channelId) : await this.access.writable(auth, channelId);
    if (channel.type === 'D' || channel.type === 'G') throw ChatErrors.channelTypeNotAllowed('cannot remove members from direct or group channels');
    const event = await this.tx.run((tx) => this.removeMemberTx(tx, channelId, userId, LOCAL_ORIGIN, auth.userId));
    if (event) this.events.publish(event);
  }

  async listMembers(auth: AuthContext, channelId: string, page: number, perPage: number): Promise<ChannelMemberEntity[]> {
    await this.access.readable(auth, channelId);
    return this.channels.listMembers(channelId, page * perPage, perPage);
  }

  async myChannelsInTeam(auth: AuthContext, teamId: string): Promise<ChannelEntity[]> {
    await this.access.assertTeamMember(auth, teamId);
    return this.channels.findChannelsOfUserInTeam(auth.userId, teamId);
  }

  /** Inserts a channel; a taken name (or id) is a clean 400 and nothing is written. */
  async insertChannel(tx: Tx, spec: NewChannelSpec, now = Date.now()): Promise<ChannelEntity> {
    const channel = Object.assign(new ChannelEntity(), {
      id: spec.id ?? newId(),
      create_at: now,
      update_at: now,
      delete_at: 0,
      team_id: spec.team_id,
      type: spec.type,
      display_name: spec.display_name,
      name: spec.name,
      header: spec.header ?? '',
      purpose: spec.purpose ?? '',
      last_post_at: now,
      last_root_post_at: now,
      total_msg_count: 0,
      extra_update_at: 0,
      creator_id: spec.creator_id,
      shared: spec.shared ?? false,
    });
    if (!(await this.channels.insertIfFree(tx, channel))) throw ChatErrors.channelNameTaken();
    return channel;
  }

  /**
   * Sets the channel's `shared` flag (Mattermost's Channel.shared), inside the caller's transaction. The flag is
   * owned by whoever shares channels; the chat core only stores and shows it.
   */
  async setShared(tx: Tx, channelId: string, shared: boolean): Promise<void> {
    await this.channels.update(tx, channelId, { shared });
  }

  /** The channel with that id, deleted or not; null when there is none. */
  findById(channelId: string): Promise<ChannelEntity | null> {
    return this.channels.findById(channelId);
  }

  /** The D or G channel with that deterministic name, if any. */
  findDirectOrGroupByName(name: string): Promise<ChannelEntity | null> {
    return this.channels.findByTeamAndName('', name);
  }

  /** The channel of that name in a team, if any. */
  findByTeamAndName(teamId: string, name: string): Promise<ChannelEntity | null> {
    return this.channels.findByTeamAndName(teamId, name);
  }

  /** User ids of every member (D and G channels have at most 8). */
  async memberIds(channelId: string, limit = 1000): Promise<string[]> {
    return (await this.channels.listMembers(channelId, 0, limit)).map((m) => m.user_id);
  }

  /** Adds a member inside a transaction; returns the journalled event, or undefined if already a member. */
  async addMemberTx(tx: Tx, channel: ChannelEntity, userId: string, admin: boolean, origin: ChangeOrigin, actorId?: string): Promise<ChangeEvent | undefined> {
    const now = Date.now();
    const member = Object.assign(new ChannelMemberEntity(), {
      channel_id: channel.id,
      user_id: userId,
      roles: admin ? CHANNEL_ADMIN_ROLES : CHANNEL_USER_ROLES,
      last_viewed_at: 0,
      msg_count: 0,
      mention_count: 0,
      notify_props: { desktop: 'default', email: 'default', mark_unread: 'all', push: 'default', ignore_channel_mentions: 'default' },
      last_update_at: now,
      scheme_user: true,
      scheme_admin: admin,
      scheme_guest: false,
      create_at: now,
    });
    if (!(await this.channels.insertMemberIfAbsent(tx, member))) return undefined;
    return this.events.record(
      tx,
      { kind: ChangeKind.MemberAdded, channel_id: channel.id, origin_remote_id: origin.remoteId, user_id: userId, ...(actorId ? { actor_id: actorId } : {}) },
      now,
    );
  }

  /**
   * Mattermost's LeaveTeam: the user leaves every channel of the team, journalled (member_removed) so membership
   * sync tells the remotes the channels are shared with. Runs in the caller's transaction, after the team
   * membership's row was updated (which orders it against concurrent additions, see addMember).
   */
  async removeFromTeamChannelsTx(tx: Tx, teamId: string, userId: string, origin: ChangeOrigin, actorId?: string): Promise<ChangeEvent[]> {
    const events: ChangeEvent[] = [];
    for (const channelId of await this.channels.findMembershipsInTeamForUpdate(tx, teamId, userId)) {
      const event = await this.removeMemberTx(tx, channelId, userId, origin, actorId);
      if (event) events.push(event);
    }
    return events;
  }

  async removeMemberTx(tx: Tx, channelId: string, userId: string, origin: ChangeOrigin, actorId?: string): Promise<ChangeEvent | undefined> {
    if (!(await this.channels.deleteMember(tx, channelId, userId))) return undefined;
    return this.events.record(tx, {
      kind: ChangeKind.MemberRemoved,
      channel_id: channelId,
      origin_remote_id: origin.remoteId,
      user_id: userId,
      ...(actorId ? { actor_id: actorId } : {}),
    });
  }

  /** The channels with these ids, deleted or not. */
  findByIds(ids: string[]): Promise<ChannelEntity[]> {
    return this.channels.findByIds(ids);
  }

  private async createGroupLike(
    creatorId: string,
    type: 'D' | 'G',
    name: string,
    displayName: string,
    memberIds: string[],
  ): Promise<{ channel: ChannelEntity; created: boolean }> {
    try {
      const { channel, events } = await this.tx.run(async (tx) => {
        const channel = await this.insertChannel(tx, { team_id: '', type, name, display_name: displayName, creator_id: creatorId });
        const events: ChangeEvent[] = [await this.events.record(tx, { kind: ChangeKind.ChannelCreated, channel_id: channel.id, origin_remote_id: null })];
        for (const id of memberIds) {
          const e = await this.addMemberTx(tx, channel, id, false, LOCAL_ORIGIN);
          if (e) events.push(e);
        }
        return { channel, events };
      });
      this.events.publish(events);
      return { channel, created: true };
    } catch (err) {
      // Two requests raced to create the same DM/GM: the loser returns the winner's channel.
      const existing = await this.channels.findByTeamAndName('', name);
      if (existing) return { channel: existing, created: false };
      throw err;
    }
  }
}
