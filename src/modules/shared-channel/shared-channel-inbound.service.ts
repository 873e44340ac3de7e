import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { AppError } from '../../common/app-error.js';
import { newId } from '../../common/ids.js';
import { isDataException } from '../../common/pg-errors.js';
import { TransactionRunner } from '../../database/transaction-runner.js';
import { UserDirectory, type UserRecord } from '../auth/user-directory.service.js';
import { ChannelAccess } from '../chat/channels/channel-access.service.js';
import { ChannelsService, directChannelName, groupChannelName, type ChannelRecord } from '../chat/channels/channels.service.js';
import { LOCAL_ORIGIN, type ChangeEvent, type ChangeOrigin } from '../chat/events/change-event.types.js';
import { ChangeEventsService } from '../chat/events/change-events.service.js';
import { TeamsService } from '../chat/teams/teams.service.js';
import type { RemoteClusterMsg } from '../remote-cluster/dto/frame.dto.js';
import type { RemoteClusterJson } from '../remote-cluster/remote-cluster.mapper.js';
import { TopicRegistry } from '../remote-cluster/topic-registry.service.js';
import { parseChannelInvite, parseChannelUnshare } from './dto/channel-share-msg.dto.js';
import { RemoteUserError, RemoteUsersService } from './remote-users.service.js';
import { SharedChannelEventsService } from './shared-channel-events.service.js';
import { SharedChannelRemoteEntity } from './shared-channel-remote.entity.js';
import { SharedChannelEntity } from './shared-channel.entity.js';
import { ChannelShareRejected } from './shared-channel.errors.js';
import { SharedChannelRepository } from './shared-channel.repository.js';
import { SharedChannelService } from './shared-channel.service.js';
import { type ChannelInviteMsg, TOPIC_CHANNEL_INVITE, TOPIC_UNSHARE, type WireUser } from './wire.types.js';

/** A D/G participant as the invite names it: known here already, or to be created from the invite. */
interface Participant {
  id: string;
  /** null for a user of this server. */
  remoteId: string | null;
  existing: UserRecord | null;
  create: WireUser | null;
}

/** What the transaction creates: a new channel, or an existing one shared again by the same home. */
type ChannelPlan =
  | { kind: 'restore'; channel: ChannelRecord }
  | { kind: 'create'; team_id: string; name: string; display_name: string; members: Array<{ userId: string; admin: boolean; origin: ChangeOrigin }> };

/**
 * The receiving side of sharing (protocol 4.3, 4.4): sharedchannel_invite creates the channel with the home's id
 * and shares it back to the home; sharedchannel_unshare (from the home only) unshares it. Every check runs before
 * anything is written, and the channel, its members, the share and the remote row are written in one transaction,
 * so a refused invite leaves nothing behind (a remote participant's synthetic user may remain: it is harmless and
 * the next invite reuses it).
 */
@Injectable()
export class SharedChannelInboundService implements OnModuleInit {
  private readonly logger = new Logger(SharedChannelInboundService.name);

  constructor(
    private readonly topics: TopicRegistry,
    private readonly repo: SharedChannelRepository,
    private readonly shares: SharedChannelService,
    private readonly channels: ChannelsService,
    private readonly teams: TeamsService,
    private readonly access: ChannelAccess,
    private readonly users: UserDirectory,
    private readonly remoteUsers: RemoteUsersService,
    private readonly changeEvents: ChangeEventsService,
    private readonly events: SharedChannelEventsService,
    private readonly tx: TransactionRunner,
  ) {}

  onModuleInit(): void {
    this.topics.register(TOPIC_CHANNEL_INVITE, (rc, msg: RemoteClusterMsg) => this.guard('channel invite', () => this.receiveInvite(rc, msg.payload)));
    this.topics.register(TOPIC_UNSHARE, (rc, msg: RemoteClusterMsg) => this.guard('channel unshare', () => this.receiveUnshare(rc, msg.payload)));
  }

  /**
   * A refusal goes to the peer as is; so does a value PostgreSQL cannot store (a NUL character: SQLSTATE class 22),
   * which is the peer's input, not our fault. Anything else is ours and is logged, not shown to the peer.
   */
  private async guard(what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      if (err instanceof ChannelShareRejected) throw err;
      if (isDataException(err)) throw new ChannelShareRejected(`invalid ${what}: a value cannot be stored (${(err as Error).message})`);
      this.logger.error({ err }, `${what} failed`);
      throw new Error(`cannot process ${what}: internal error`, { cause: err });
    }
  }

  async receiveUnshare(rc: RemoteClusterJson, payload: unknown): Promise<void> {
    const msg = parseChannelUnshare(payload);
    await this.shares.receiveUnshare(msg.channel_id, rc);
  }

  async receiveInvite(rc: RemoteClusterJson, payload: unknown): Promise<void> {
    const invite = parseChannelInvite(payload);
    const channelId = invite.channel_id;
    this.logger.log({ remote_id: rc.remote_id, channel_id: channelId, type: invite.type, name: invite.name }, 'channel invite received');

    const share = await this.repo.findShare(channelId);
    if (share?.home) throw new ChannelShareRejected(`cannot accept an invite for channel ${channelId}: it is homed on this server`);
    if (share && share.remote_id !== rc.remote_id) {
      throw new ChannelShareRejected(`cannot accept an invite for channel ${channelId}: it is shared from another server`);
    }
    const scr = await this.repo.findRemote(channelId, rc.remote_id);
    if (scr && !scr.delete_at && share) return; // already shared with the sender: nothing to do

    const channel = await this.channels.findById(channelId);
    let plan: ChannelPlan;
    let toCreate: WireUser[] = [];
    if (channel) {
      // Only a channel this sender shared with us before (and unshared) may be shared again.
      if (!scr) throw new ChannelShareRejected(`cannot create new shared channel (channel_id=${channelId}): channel already exists`);
      if (channel.type !== invite.type) throw new ChannelShareRejected(`cannot share channel ${channelId} again: its type changed`);
      if (channel.delete_at) throw new ChannelShareRejected(`cannot share channel ${channelId} again: it was deleted here`);
      plan = { kind: 'restore', channel };
    } else if (invite.type === 'O' || invite.type === 'P') {
      plan = await this.planTeamChannel(invite, rc);
    } else {
      const planned = await this.planDirectOrGroup(invite, rc);
      plan = planned.plan;
      toCreate = planned.toCreate;
    }

    for (const user of toCreate) {
      try {
        await this.remoteUsers.upsert(rc, user);
      } catch (err) {
        if (!(err instanceof RemoteUserError)) throw err;
        throw new ChannelShareRejected(`cannot create user ${user.id} for remote ${rc.remote_id}: ${err.message}`);
      }
    }
    if (plan.kind === 'create' && invite.type === 'G') plan.display_name = await this.groupDisplayName(invite.direct_participant_ids!);

    let events: ChangeEvent[];
    try {
      events = await this.tx.run(async (tx) => {
        const out: ChangeEvent[] = [];
        let target: ChannelRecord;
        if (plan.kind === 'create') {
          target = await this.channels.insertChannel(tx, {
            id: channelId,
            team_id: plan.team_id,
            type: invite.type as ChannelRecord['type'],
            name: plan.name,
            display_name: plan.display_name,
            header: invite.header,
            purpose: invite.purpose,
            creator_id: this.creatorOf(invite, rc),
            shared: true,
          });
          for (const m of plan.members) {
            const e = await this.channels.addMemberTx(tx, target, m.userId, m.admin, m.origin);
            if (e) out.push(e);
          }
        } else {
          target = plan.channel;
          await this.channels.setShared(tx, channelId, true);
        }
        const locked = await this.repo.findShareForUpdate(tx, channelId);
        if (locked) {
          if (locked.home || locked.remote_id !== rc.remote_id) throw new ChannelShareRejected(`channel ${channelId} is shared from another server`);
          await this.repo.deleteShare(tx, channelId);
        }
        await this.repo.insertShare(tx, this.receivedShare(target, invite, rc));
        await this.repo.upsertRemote(tx, this.homeRow(target, invite, rc));
        await this.repo.setUnsharePending(tx, channelId, rc.remote_id, false);
        out.push(await this.shares.joinedPost(tx, channelId, rc.creator_id, rc));
        return out;
      });
    } catch (err) {
      // Two deliveries of the same invite raced: the other one shared it, which is what the sender wants.
      const now = await this.repo.findRemote(channelId, rc.remote_id);
      if (now && !now.delete_at && (await this.repo.findShare(channelId))) return;
      if (err instanceof AppError && err.statusCode < 500) throw new ChannelShareRejected(`cannot create channel ${channelId}: ${err.message}`);
      throw err;
    }
    this.changeEvents.publish(events);
    this.events.emit({ kind: 'remote_confirmed', channel_id: channelId, remote_id: rc.remote_id });
    this.logger.log({ remote_id: rc.remote_id, channel_id: channelId, restored: plan.kind === 'restore' }, 'channel shared by its home');
  }

  /** O and P: in the connection's default team (else the first team), owned by the admin of the connection. */
  private async planTeamChannel(invite: ChannelInviteMsg, rc: RemoteClusterJson): Promise<ChannelPlan> {
    const teamId = await this.teamFor(rc);
    if (await this.channels.findByTeamAndName(teamId, invite.name)) {
      throw new ChannelShareRejected(`cannot create channel ${invite.channel_id}: a channel named "${invite.name}" already exists in the team`);
    }
    const creator = rc.creator_id ? await this.users.find(rc.creator_id) : null;
    return {
      kind: 'create',
      team_id: teamId,
      name: invite.name,
      display_name: invite.display_name,
      members: creator && !creator.delete_at ? [{ userId: creator.id, admin: true, origin: LOCAL_ORIGIN }] : [],
    };
  }

  private async teamFor(rc: RemoteClusterJson): Promise<string> {
    if (rc.default_team_id) {
      try {
        return (await this.access.team(rc.default_team_id)).id;
      } catch (err) {
        if (!(err instanceof AppError && err.statusCode === 404)) throw err;
      }
    }
    const first = await this.teams.firstTeam();
    if (!first) throw new ChannelShareRejected('cannot create the channel: this server has no team');
    return first.id;
  }

  /**
   * D: exactly two participants, one of ours and one the sender owns. G: 3..8, at least one of ours and one the
   * sender owns. Participants unknown here must travel in the invite; they become the sender's synthetic users.
   */
  private async planDirectOrGroup(invite: ChannelInviteMsg, rc: RemoteClusterJson): Promise<{ plan: ChannelPlan; toCreate: WireUser[] }> {
    const ids = invite.direct_participant_ids!;
    const kind = invite.type === 'D' ? 'direct' : 'group';
    const known = await this.users.findMany(ids);
    const embedded = new Map((invite.direct_participants ?? []).map((u) => [u.id, u]));
    const participants: Participant[] = ids.map((id) => {
      const existing = known.find((u) => u.id === id) ?? null;
      if (existing) return { id, remoteId: existing.remote_id ?? null, existing, create: null };
      const create = embedded.get(id);
      if (!create) throw new ChannelShareRejected(`cannot create ${kind} channel ${invite.channel_id}: user ${id} is unknown here and not in the invite`);
      return { id, remoteId: rc.remote_id, existing: null, create };
    });
    const local = participants.filter((p) => !p.remoteId);
    const fromSender = participants.filter((p) => p.remoteId === rc.remote_id);
    if (!local.length) throw new ChannelShareRejected(`cannot create ${kind} channel ${invite.channel_id}: no participant is a user of this server`);
    if (invite.type === 'D' && local.length === 2) {
      throw new ChannelShareRejected(`cannot create direct channel ${invite.channel_id}: both users are local to this server`);
    }
    if (!fromSender.length) throw new ChannelShareRejected(`cannot create ${kind} channel ${invite.channel_id}: remoteID mismatch, no participant belongs to the sender`);
    if (invite.type === 'D' && fromSender.length !== 1) {
      throw new ChannelShareRejected(`cannot create direct channel ${invite.channel_id}: remoteID mismatch`);
    }
    const inactive = local.find((p) => p.existing?.delete_at);
    if (inactive) throw new ChannelShareRejected(`cannot create ${kind} channel ${invite.channel_id}: user ${inactive.id} is deactivated`);

    const name = invite.type === 'D' ? directChannelName(ids[0], ids[1]) : groupChannelName(ids);
    if (await this.channels.findDirectOrGroupByName(name)) {
      throw new ChannelShareRejected(`cannot create ${kind} channel ${name}: channel exists with wrong id`);
    }
    const origin: ChangeOrigin = { remoteId: rc.remote_id };
    return {
      plan: { kind: 'create', team_id: '', name, display_name: '', members: ids.map((userId) => ({ userId, admin: false, origin })) },
      toCreate: participants.flatMap((p) => (p.create ? [p.create] : [])),
    };
  }

  private async groupDisplayName(ids: string[]): Promise<string> {
    const users = await this.users.findMany(ids);
    return users.map((u) => u.username).sort().join(', ').slice(0, 64);
  }

  private creatorOf(invite: ChannelInviteMsg, rc: RemoteClusterJson): string {
    if (invite.type === 'O' || invite.type === 'P') return rc.creator_id;
    const ids = invite.direct_participant_ids!;
    return ids.includes(invite.creator_id) ? invite.creator_id : ids[0];
  }

  /** The receiver's SharedChannel: not home, homed on the sender, read-only as the invite says. */
  private receivedShare(channel: ChannelRecord, invite: ChannelInviteMsg, rc: RemoteClusterJson): SharedChannelEntity {
    const now = Date.now();
    return Object.assign(new SharedChannelEntity(), {
      channel_id: channel.id,
      team_id: channel.team_id,
      home: false,
      readonly: invite.read_only,
      name: channel.name,
      display_name: channel.display_name,
      purpose: channel.purpose,
      header: channel.header,
      creator_id: rc.creator_id,
      create_at: now,
      update_at: now,
      remote_id: rc.remote_id,
      type: channel.type,
    });
  }

  /** The receiver treats the home as a remote of the channel too, and syncs back to it from now on (cursors now). */
  private homeRow(channel: ChannelRecord, invite: ChannelInviteMsg, rc: RemoteClusterJson): SharedChannelRemoteEntity {
    const now = Date.now();
    return Object.assign(new SharedChannelRemoteEntity(), {
      id: newId(),
      channel_id: channel.id,
      creator_id: channel.creator_id || invite.creator_id || rc.creator_id,
      create_at: now,
      update_at: now,
      delete_at: 0,
      is_invite_accepted: true,
      is_invite_confirmed: true,
      remote_id: rc.remote_id,
      last_post_update_at: now,
      last_post_update_id: '',
      last_post_create_at: now,
      last_post_create_id: '',
      last_members_sync_at: 0,
    });
  }
}
