import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { AppError } from '../../common/app-error.js';
import { newId } from '../../common/ids.js';
import { TransactionRunner, type Tx } from '../../database/transaction-runner.js';
import type { AuthContext } from '../auth/auth-context.js';
import { isSystemAdmin, Permission, rolesHavePermission } from '../auth/permissions.js';
import { UserDirectory } from '../auth/user-directory.service.js';
import { ChannelAccess, type ChannelWriteAttempt } from '../chat/channels/channel-access.service.js';
import { ChannelsService, type ChannelRecord } from '../chat/channels/channels.service.js';
import type { ChangeEvent } from '../chat/events/change-event.types.js';
import { ChangeEventsService } from '../chat/events/change-events.service.js';
import { PostsService } from '../chat/posts/posts.service.js';
import { CONNECTION_STATE_EVENT, type ConnectionStateChange } from '../remote-cluster/connection-state.service.js';
import { RESPONSE_STATUS_OK } from '../remote-cluster/dto/frame.dto.js';
import { RemoteClusterTransportError } from '../remote-cluster/remote-cluster.client.js';
import type { RemoteClusterJson } from '../remote-cluster/remote-cluster.mapper.js';
import { RemoteClusterService } from '../remote-cluster/remote-cluster.service.js';
import type { InviteRemoteQuery, SharedChannelRemotesQuery } from './dto/shared-channel.dto.js';
import { historySince } from './history.js';
import { PROP_ORIGINAL_REMOTE_ID, sanitizeUserForSync } from './remote-users.service.js';
import { NO_LONGER_SHARED_EVENT, type NoLongerSharedReport, SharedChannelEventsService } from './shared-channel-events.service.js';
import { SharedChannelRemoteEntity } from './shared-channel-remote.entity.js';
import { SharedChannelEntity } from './shared-channel.entity.js';
import { ChannelShareRejected, SharedChannelErrors } from './shared-channel.errors.js';
import { type RemoteClusterInfoJson, toRemoteClusterInfoJson } from './shared-channel.mapper.js';
import { SharedChannelRepository } from './shared-channel.repository.js';
import { type ChannelInviteMsg, type ChannelUnshareMsg, TOPIC_CHANNEL_INVITE, TOPIC_UNSHARE } from './wire.types.js';

/** What a remote's part in a share looks like to the people in the channel (system posts, props). */
export const SHARED_CHANNEL_STATE_PROP = 'shared_channel_state';
export const UNSHARED_MESSAGE = 'This channel is no longer shared.';

export function joinedMessage(workspace: string): string {
  return `This channel is now shared with ${workspace}.`;
}

export function leftMessage(workspace: string): string {
  return `${workspace} is no longer part of this shared channel.`;
}

/** The connection as far as posts and messages about it need it; a deleted connection still has these. */
type RemoteRef = Pick<RemoteClusterJson, 'remote_id' | 'display_name' | 'last_ping_at'>;

export type InviteOutcome = 'shared' | 'pending' | 'already_shared';

/** A remote (or, leaving a home, every remote row) removed from a channel in a transaction; published by afterRemoval(). */
export interface RemoteRemoval {
  channelId: string;
  remoteIds: string[];
  /** An unshare is owed to the remote (recorded in unshare_pending). */
  unsharePending: boolean;
  /** The channel is no longer shared at all here. */
  unshared: boolean;
  /** The system post's change event. */
  events: ChangeEvent[];
}

/** How one attempt to deliver an invite ended. */
type Delivery = { ok: true } | { ok: false; refused: boolean; reason: string };

/**
 * Shared channels on this server (protocol section 4): sharing and inviting remotes from the home, uninviting and
 * telling the remote, offline invites delivered when the remote comes back, read-only shares, the management
 * queries, and what the sync engine needs (read-only checks, "no longer shared" handling).
 *
 * Only the home invites (which also prevents cycles). Unlike Mattermost, invites to an offline remote wait for it
 * whatever the channel type, and an uninvited remote is told (sharedchannel_unshare), now or when it is back.
 */
@Injectable()
export class SharedChannelService implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger(SharedChannelService.name);
  /** Per remote, the running catch-up (pending invites and unshares), so two never overlap on this replica. */
  private readonly resuming = new Map<string, Promise<void>>();

  constructor(
    private readonly repo: SharedChannelRepository,
    private readonly remoteClusters: RemoteClusterService,
    private readonly access: ChannelAccess,
    private readonly channels: ChannelsService,
    private readonly posts: PostsService,
    private readonly changeEvents: ChangeEventsService,
    private readonly users: UserDirectory,
    private readonly tx: TransactionRunner,
    private readonly events: SharedChannelEventsService,
  ) {}

  onModuleInit(): void {
    this.access.registerWritePolicy((attempt) => this.readOnlyPolicy(attempt));
  }

  /** A remote came back: its pending invites and unshares go out now. */
  @OnEvent(CONNECTION_STATE_EVENT)
  async onConnectionState(change: ConnectionStateChange): Promise<void> {
    if (change.online) await this.resumeRemote(change.remote_id);
  }

  /**
   * Catches up on remotes that are online now but whose online event this replica never saw (a restart, or the
   * replica that saw it died mid-delivery). Runs in the background; deliveries are idempotent on both sides.
   */
  onApplicationBootstrap(): void {
    void this.resumeAllOnline().catch((err: unknown) => this.logger.warn({ err }, 'catching up on pending invites failed'));
  }

  // ---- permissions ------------------------------------------------------------------------------------------

  /**
   * Mattermost (2026): inviting and uninviting take the system permission manage_shared_channels, which system admins
   * hold and a system admin grants to others through the system_shared_channel_manager role (without
   * manage_secure_connections). Checked before any lookup, so a caller without it learns nothing about ids.
   */
  private assertMayManageShares(auth: AuthContext): void {
    if (!rolesHavePermission(auth.roles, Permission.ManageSharedChannels)) throw SharedChannelErrors.forbidden();
  }

  /**
   * And the channel itself must be one the caller can see (a member, or an open channel of one of their teams;
   * system admins see all), so a shared-channel manager cannot share a private conversation they are not part of.
   * A channel they cannot see answers 403, not 404: its existence is not revealed.
   */
  private async assertChannelVisible(auth: AuthContext, channel: ChannelRecord): Promise<void> {
    if (isSystemAdmin(auth.roles)) return;
    try {
      await this.access.readable(auth, channel.id);
    } catch (err) {
      if (err instanceof AppError && err.statusCode < 500) throw SharedChannelErrors.forbidden();
      throw err;
    }
  }

  // ---- invite (home side, protocol 4.2) -------------------------------------------------------------------

  /**
   * Shares the channel if it is not shared yet and invites the remote. An online remote must accept now (its
   * refusal or silence is a 502 and nothing is stored); an offline one gets the invite when it is back.
   */
  async invite(auth: AuthContext, remoteId: string, channelId: string, query: InviteRemoteQuery = {}): Promise<InviteOutcome> {
    this.assertMayManageShares(auth);
    const rc = await this.remoteClusters.getRemote(remoteId);
    if (!rc) throw SharedChannelErrors.remoteNotFound();
    const channel = await this.access.channel(channelId);
    await this.assertChannelVisible(auth, channel);
    if (channel.delete_at) throw SharedChannelErrors.channelDeleted();

    const existingShare = await this.repo.findShare(channelId);
    if (existingShare && !existingShare.home) throw SharedChannelErrors.notHome();
    if (existingShare && query.readonly !== undefined && existingShare.readonly !== query.readonly) {
      throw SharedChannelErrors.readOnlyMismatch(existingShare.readonly);
    }
    if (channel.type === 'D' || channel.type === 'G') await this.assertRemoteParticipates(channel, rc);

    const existing = await this.repo.findRemote(channelId, remoteId);
    if (existing && !existing.delete_at && existing.is_invite_confirmed) {
      this.ephemeral(auth.userId, channelId, `\`${rc.display_name}\` is already in this shared channel.`);
      return 'already_shared';
    }
    const share = existingShare ?? this.newHomeShare(channel, auth.userId, query.readonly ?? false);
    // History asked for with the invite: recorded with it, begun by the sync engine once the remote confirmed.
    const history = historySince(query.history, Date.now());

    if (!this.remoteClusters.isOnline(rc)) {
      await this.tx.run(async (tx) => {
        await this.ensureHomeShare(tx, share, channel);
        await this.repo.upsertRemote(tx, this.remoteRow(channelId, remoteId, auth.userId, false, history));
      });
      this.logger.log({ channel_id: channelId, remote_id: remoteId }, 'remote offline: invite stored until it is back');
      this.ephemeral(auth.userId, channelId, `\`${rc.display_name}\` is offline; the invitation will be sent when it is back online.`);
      // It may have come back while the invite was being stored: its online event then found nothing pending and
      // the invite would wait for the next one. Deliveries are serialised per remote and idempotent.
      const now = await this.remoteClusters.getRemote(remoteId);
      if (now && this.remoteClusters.isOnline(now)) void this.resumeRemote(remoteId);
      return 'pending';
    }

    // The invitation is recorded (unconfirmed) before it leaves: the remote creates its side on receipt and may
    // sync back (its members, its first posts) before its answer is here. Without the row the home would answer
    // "channel is no longer shared" and both sides would drop each other for good.
    await this.tx.run(async (tx) => {
      await this.ensureHomeShare(tx, share, channel);
      await this.repo.upsertRemote(tx, this.remoteRow(channelId, remoteId, auth.userId, false, history));
    });
    let delivery: Delivery;
    try {
      delivery = await this.deliverInvite(channel, share, rc);
    } catch (err) {
      await this.revertInvite(channel, remoteId, existing, !existingShare);
      throw err;
    }
    if (!delivery.ok) {
      await this.revertInvite(channel, remoteId, existing, !existingShare);
      this.ephemeral(auth.userId, channelId, `Error sending channel invite for ${rc.display_name}: ${delivery.reason}`);
      throw SharedChannelErrors.inviteFailed(rc.display_name, delivery.reason);
    }
    await this.confirmInvite(channel, share, rc, auth.userId, false);
    this.ephemeral(auth.userId, channelId, `\`${rc.display_name}\` has been added to channel.`);
    return 'shared';
  }

  /**
   * An online invite that failed leaves nothing behind: the (channel, remote) row goes back to what it was (or
   * away), and a share this invite created goes too when no other remote joined it meanwhile. A row that is no
   * longer the unconfirmed one this invite wrote (confirmed by a concurrent delivery, withdrawn) is left alone.
   */
  private async revertInvite(channel: ChannelRecord, remoteId: string, before: SharedChannelRemoteEntity | null, createdShare: boolean): Promise<void> {
    await this.tx.run(async (tx) => {
      await this.repo.findShareForUpdate(tx, channel.id);
      const current = await this.repo.findRemoteForUpdate(tx, channel.id, remoteId);
      if (current && !current.delete_at && !current.is_invite_confirmed) {
        if (before) await this.repo.upsertRemote(tx, before);
        else await this.repo.deleteRemoteRow(tx, current.id);
      }
      if (createdShare && (await this.repo.countActiveRemotes(tx, channel.id)) === 0) {
        await this.repo.deleteShare(tx, channel.id);
        await this.channels.setShared(tx, channel.id, false);
      }
    });
  }

  /** A D or G channel can only go to a workspace one of its members comes from. */
  private async assertRemoteParticipates(channel: ChannelRecord, rc: RemoteRef): Promise<void> {
    const members = await this.users.findMany(await this.channels.memberIds(channel.id));
    if (!members.some((u) => u.remote_id === rc.remote_id)) throw SharedChannelErrors.remoteNotParticipant(rc.display_name);
  }

  private newHomeShare(channel: ChannelRecord, creatorId: string, readonly: boolean): SharedChannelEntity {
    const now = Date.now();
    return Object.assign(new SharedChannelEntity(), {
      channel_id: channel.id,
      team_id: channel.team_id,
      home: true,
      readonly,
      name: channel.name,
      display_name: channel.display_name,
      purpose: channel.purpose,
      header: channel.header,
      creator_id: creatorId,
      create_at: now,
      update_at: now,
      remote_id: null,
      type: channel.type,
    });
  }

  /** Mattermost's shareIfNotShared, inside the invite's transaction; also locks the share for the decision. */
  private async ensureHomeShare(tx: Tx, share: SharedChannelEntity, channel: ChannelRecord): Promise<void> {
    await this.repo.insertShare(tx, share);
    const locked = await this.repo.findShareForUpdate(tx, channel.id);
    if (!locked?.home) throw SharedChannelErrors.notHome();
    await this.channels.setShared(tx, channel.id, true);
  }

  /**
   * A fresh (channel, remote) row. Confirmed rows start their post cursors now: history before the invite is not
   * sent by live sync (protocol 4.2; Mattermost does the same), only by a backfill when one was asked for
   * (`historyFrom`: lowest create_at, 0 for all, -1 for none). Columns not named here take their defaults.
   */
  private remoteRow(channelId: string, remoteId: string, creatorId: string, confirmed: boolean, historyFrom = -1): SharedChannelRemoteEntity {
    const now = Date.now();
    return Object.assign(new SharedChannelRemoteEntity(), {
      id: newId(),
      channel_id: channelId,
      creator_id: creatorId,
      create_at: now,
      update_at: now,
      delete_at: 0,
      is_invite_accepted: true,
      is_invite_confirmed: confirmed,
      remote_id: remoteId,
      last_post_update_at: confirmed ? now : 0,
      last_post_update_id: '',
      last_post_create_at: confirmed ? now : 0,
      last_post_create_id: '',
      last_members_sync_at: 0,
      backfill_state: historyFrom >= 0 ? 'requested' : '',
      backfill_since: historyFrom,
      backfill_until: 0,
      backfill_cursor_at: 0,
      backfill_cursor_id: '',
      backfill_seq: 0,
      backfill_total: 0,
      backfill_sent: 0,
      backfill_refused: 0,
      backfill_started_at: 0,
      backfill_finished_at: 0,
    });
  }

  /** The sharedchannel_invite payload, from the channel and its share as they are now. */
  async buildInvite(channel: ChannelRecord, share: SharedChannelEntity, rc: RemoteRef): Promise<ChannelInviteMsg> {
    const invite: ChannelInviteMsg = {
      channel_id: channel.id,
      team_id: '',
      read_only: share.readonly,
      name: channel.name,
      display_name: share.display_name,
      header: share.header,
      purpose: share.purpose,
      type: channel.type,
      creator_id: channel.creator_id,
      direct_participant_ids: null,
      direct_participants: null,
    };
    if (channel.type === 'D' || channel.type === 'G') {
      const ids = await this.channels.memberIds(channel.id);
      const members = await this.users.findMany(ids);
      invite.direct_participant_ids = ids;
      // The remote knows its own users; everyone else travels with the invite (sanitised, protocol 6.2).
      invite.direct_participants = members.filter((u) => u.remote_id !== rc.remote_id).map(sanitizeUserForSync);
    }
    return invite;
  }

  /** Sends the invite; `refused` when the remote answered FAIL (sending it again will not help). */
  private async deliverInvite(channel: ChannelRecord, share: SharedChannelEntity, rc: RemoteRef): Promise<Delivery> {
    const invite = await this.buildInvite(channel, share, rc);
    try {
      const reply = await this.remoteClusters.sendMsg(rc.remote_id, TOPIC_CHANNEL_INVITE, invite);
      if (reply.status === RESPONSE_STATUS_OK) return { ok: true };
      return { ok: false, refused: true, reason: reply.err || 'the remote refused the invitation' };
    } catch (err) {
      if (!(err instanceof RemoteClusterTransportError)) throw err;
      // The admin gets the classified reason (see RemoteClusterTransportError.describe); the log keeps the detail.
      this.logger.debug({ channel_id: channel.id, remote_id: rc.remote_id, kind: err.kind, err: err.message }, 'invite not delivered');
      return { ok: false, refused: err.permanent, reason: err.describe() };
    }
  }

  /**
   * Records that the remote accepted: the (channel, remote) row confirmed with fresh cursors, a system post, then
   * the remote_confirmed event (the sync engine schedules the first sync). A pending invite that was withdrawn
   * while it travelled is not revived: the remote is told to unshare instead.
   */
  private async confirmInvite(channel: ChannelRecord, share: SharedChannelEntity, rc: RemoteRef, creatorId: string, wasPending: boolean): Promise<void> {
    const result = await this.tx.run(async (tx) => {
      await this.ensureHomeShare(tx, share, channel);
      const current = await this.repo.findRemoteForUpdate(tx, channel.id, rc.remote_id);
      if (wasPending && (!current || current.delete_at)) {
        if (current) await this.repo.setUnsharePending(tx, channel.id, rc.remote_id, true);
        return 'withdrawn' as const;
      }
      if (current && !current.delete_at && current.is_invite_confirmed) return 'already' as const;
      const history = current && !current.delete_at && current.backfill_state === 'requested' ? current.backfill_since : -1;
      await this.repo.upsertRemote(tx, this.remoteRow(channel.id, rc.remote_id, creatorId, true, history));
      await this.repo.setUnsharePending(tx, channel.id, rc.remote_id, false);
      return this.joinedPost(tx, channel.id, creatorId, rc);
    });
    if (result === 'withdrawn') {
      this.logger.log({ channel_id: channel.id, remote_id: rc.remote_id }, 'invite accepted after it was withdrawn: unsharing');
      await this.deliverUnshare(channel.id, rc);
      return;
    }
    if (result === 'already') return;
    this.changeEvents.publish(result);
    this.events.emit({ kind: 'remote_confirmed', channel_id: channel.id, remote_id: rc.remote_id });
  }

  // ---- uninvite / unshare (protocol 4.6, improved) --------------------------------------------------------

  /** false when the channel was not shared with that remote (the API answers 204, as Mattermost does). */
  async uninvite(auth: AuthContext, remoteId: string, channelId: string): Promise<boolean> {
    this.assertMayManageShares(auth);
    // A deleted connection can still be uninvited, to clean up its shares.
    const rc = await this.remoteClusters.get(remoteId).catch((err: unknown) => {
      if (err instanceof AppError && err.statusCode === 404) throw SharedChannelErrors.remoteNotFound();
      throw err;
    });
    const channel = await this.access.channel(channelId);
    await this.assertChannelVisible(auth, channel);
    const share = await this.repo.findShare(channelId);
    // The home tells the remote (unless the connection is gone). A non-home server leaving its home's channel does
    // not: Mattermost homes refuse sharedchannel_unshare from a remote (ours read it as the remote leaving, which a
    // deleted connection uses), and all learn it from the "no longer shared" answer to their next sync.
    return this.removeRemote(channel, rc, { actorUserId: auth.userId, tellPeer: share?.home !== false && !rc.delete_at });
  }

  /** The sync engine's report (awaited by it; an error fails its job, which BullMQ retries). */
  @OnEvent(NO_LONGER_SHARED_EVENT, { suppressErrors: false })
  async onNoLongerSharedReport(report: NoLongerSharedReport): Promise<void> {
    await this.handleNoLongerShared(report.channel_id, report.remote_id);
  }

  /**
   * The peer answered a sharedchannel_sync with "channel is no longer shared" (4.6). The remote is dropped from the
   * channel without telling it (it knows); with no remote left the channel is unshared.
   */
  async handleNoLongerShared(channelId: string, remoteId: string): Promise<void> {
    const channel = await this.channels.findById(channelId);
    if (!channel) return;
    const rc = await this.remoteRef(remoteId);
    await this.removeRemote(channel, rc, { tellPeer: false });
  }

  /**
   * Soft-deletes the (channel, remote) row; with no live remote left the channel is unshared here (share row
   * deleted, Channel.shared cleared). A system post says what happened. `tellPeer` records and sends the unshare.
   */
  private async removeRemote(channel: ChannelRecord, rc: RemoteRef, opts: { actorUserId?: string; tellPeer: boolean }): Promise<boolean> {
    const result = await this.tx.run((tx) => this.removeRemoteTx(tx, channel.id, rc, { ...opts, now: Date.now() }));
    if (!result) return false;
    this.afterRemoval(result);
    if (result.unsharePending) {
      if (this.remoteClusters.isOnline(rc)) await this.deliverUnshare(channel.id, rc);
      else this.logger.log({ channel_id: channel.id, remote_id: rc.remote_id }, 'remote offline: unshare sent when it is back');
    }
    return true;
  }

  /**
   * removeRemote's writes, in the caller's transaction (a connection's deletion removes it from every channel in
   * one): null when the remote was not (or no longer) in the channel. `tellPeer` records the unshare owed to it
   * (unshare_pending); the caller publishes the result with afterRemoval() once committed, and delivers.
   */
  async removeRemoteTx(
    tx: Tx,
    channelId: string,
    rc: RemoteRef,
    opts: { actorUserId?: string; tellPeer: boolean; now: number },
  ): Promise<RemoteRemoval | null> {
    await this.repo.findShareForUpdate(tx, channelId);
    const scr = await this.repo.findRemoteForUpdate(tx, channelId, rc.remote_id);
    if (!scr || scr.delete_at) return null;
    // The remote must hear of it if it ever accepted (or an earlier unshare is still owed).
    const unsharePending = opts.tellPeer && (scr.is_invite_confirmed || scr.unshare_pending);
    await this.repo.softDeleteRemote(tx, scr.id, opts.now, unsharePending);
    const unshared = (await this.repo.countActiveRemotes(tx, channelId)) === 0;
    if (unshared) {
      await this.repo.deleteShare(tx, channelId);
      await this.channels.setShared(tx, channelId, false);
    }
    const author = opts.actorUserId ?? scr.creator_id;
    let event: ChangeEvent | undefined;
    if (unshared) event = await this.unsharedPost(tx, channelId, author, rc);
    else if (scr.is_invite_confirmed) event = await this.statePost(tx, channelId, author, rc, 'left', leftMessage(rc.display_name));
    return { channelId, remoteIds: [rc.remote_id], unsharePending, unshared, events: event ? [event] : [] };
  }

  /** What a committed removal tells the rest of the server: the system post, and remote_removed per remote. */
  afterRemoval(result: RemoteRemoval): void {
    this.changeEvents.publish(result.events);
    for (const remoteId of result.remoteIds) this.events.emit({ kind: 'remote_removed', channel_id: result.channelId, remote_id: remoteId });
    this.logger.log({ channel_id: result.channelId, remote_ids: result.remoteIds, unshared: result.unshared }, 'remote removed from shared channel');
  }

  /**
   * Tells a remote that the channel is no longer shared with it. Any answer counts as delivered (a FAIL means it
   * will never accept it, e.g. a revision without the topic); a transport failure leaves it pending. Also to a
   * connection deleted here: the unshare is the last thing it is owed. Returns whether it was settled.
   */
  private async deliverUnshare(channelId: string, rc: RemoteRef): Promise<boolean> {
    const msg: ChannelUnshareMsg = { channel_id: channelId, remote_id: rc.remote_id };
    try {
      const reply = await this.remoteClusters.sendMsg(rc.remote_id, TOPIC_UNSHARE, msg, { evenIfDeleted: true });
      if (reply.status !== RESPONSE_STATUS_OK) {
        this.logger.warn({ channel_id: channelId, remote_id: rc.remote_id, err: reply.err }, 'the remote refused the unshare');
      }
      await this.repo.markUnshareDelivered(channelId, rc.remote_id);
      return true;
    } catch (err) {
      if (!(err instanceof RemoteClusterTransportError)) throw err;
      if (err.kind === 'rejected' || (err.kind === 'http_status' && err.permanent)) {
        // No confirmed connection, or the peer refuses us for good (it deleted its side too): it will never arrive.
        // (An address the outbound policy refuses stays pending: the admin may allow its network.)
        this.logger.warn({ channel_id: channelId, remote_id: rc.remote_id, err: err.message }, 'unshare can never be delivered: given up');
        await this.repo.markUnshareDelivered(channelId, rc.remote_id);
        return true;
      }
      this.logger.log({ channel_id: channelId, remote_id: rc.remote_id, err: err.message }, 'unshare not delivered; retried when the remote is back');
      return false;
    }
  }

  /**
   * Delivers every unshare owed to a remote (for a deleted connection: the channels its deletion unshared); the number
   * still owed after this attempt (the caller retries while it is not 0).
   */
  async deliverPendingUnshares(remoteId: string): Promise<number> {
    const rc = await this.remoteRef(remoteId);
    let left = 0;
    for (const scr of await this.repo.findPendingUnshares(remoteId)) {
      if (!(await this.deliverUnshare(scr.channel_id, rc))) left++;
    }
    return left;
  }

  /**
   * sharedchannel_unshare from a peer. From the channel's home (4.6): the home no longer shares it with us, so it is
   * unshared here. Not in Mattermost: from a remote of a channel homed here, it says that remote left (it deleted
   * its connection to us), so it is removed from the channel as an uninvite would. Anything else is refused.
   */
  async receiveUnshare(channelId: string, rc: RemoteClusterJson): Promise<void> {
    const share = await this.repo.findShare(channelId);
    if (share?.home) {
      const scr = await this.repo.findRemote(channelId, rc.remote_id);
      const channel = await this.channels.findById(channelId);
      if (!scr || scr.delete_at || !channel) throw new ChannelShareRejected(`invalid unshare request: channel_id=${channelId} is not shared with ${rc.remote_id}`);
      await this.removeRemote(channel, rc, { tellPeer: false });
      return;
    }
    await this.unshareFromHome(channelId, rc);
  }

  /**
   * The home told us (sharedchannel_unshare) that it no longer shares the channel with us. Accepted only for a
   * channel homed on the sender; then unshared here as in 4.6.
   */
  async unshareFromHome(channelId: string, rc: RemoteClusterJson): Promise<void> {
    const result = await this.tx.run(async (tx) => {
      const share = await this.repo.findShareForUpdate(tx, channelId);
      if (!share) return null;
      if (share.home || share.remote_id !== rc.remote_id) {
        throw new ChannelShareRejected(`invalid unshare request: channel_id=${channelId}, home=${share.home}, remote_id=${rc.remote_id}`);
      }
      return this.leaveHomeTx(tx, channelId, rc, { tellHome: false, now: Date.now() });
    });
    if (!result) return;
    this.afterRemoval(result);
    this.logger.log({ channel_id: channelId, remote_id: rc.remote_id }, 'channel unshared by its home');
  }

  /**
   * Unshares here a channel homed on `rc` (its share row is locked by the caller): every remote row goes (there is
   * only the home's), the share goes, Channel.shared is cleared, a system post says so. `tellHome` records an unshare
   * owed to the home (we leave because the connection was deleted here).
   */
  async leaveHomeTx(tx: Tx, channelId: string, rc: RemoteRef & { creator_id: string }, opts: { tellHome: boolean; now: number }): Promise<RemoteRemoval> {
    const live = await this.repo.findLiveRemotesOfChannel(channelId, tx);
    for (const scr of live) {
      await this.repo.softDeleteRemote(tx, scr.id, opts.now, opts.tellHome && scr.remote_id === rc.remote_id && scr.is_invite_confirmed);
    }
    await this.repo.deleteShare(tx, channelId);
    await this.channels.setShared(tx, channelId, false);
    const event = await this.unsharedPost(tx, channelId, rc.creator_id, rc);
    return { channelId, remoteIds: live.map((r) => r.remote_id), unsharePending: opts.tellHome, unshared: true, events: [event] };
  }

  // ---- offline remotes ------------------------------------------------------------------------------------

  /** A remote came back online: send what it missed. One catch-up per remote at a time on this replica. */
  resumeRemote(remoteId: string): Promise<void> {
    const previous = this.resuming.get(remoteId) ?? Promise.resolve();
    const next = previous
      .then(() => this.catchUp(remoteId))
      .catch((err: unknown) => this.logger.error({ err, remote_id: remoteId }, 'delivering pending invites and unshares failed'))
      .finally(() => {
        if (this.resuming.get(remoteId) === next) this.resuming.delete(remoteId);
      });
    this.resuming.set(remoteId, next);
    return next;
  }

  private async resumeAllOnline(): Promise<void> {
    for (const remoteId of await this.repo.findRemoteIdsWithPendingWork()) {
      const rc = await this.remoteClusters.getRemote(remoteId);
      if (rc && this.remoteClusters.isOnline(rc)) await this.resumeRemote(remoteId);
    }
  }

  private async catchUp(remoteId: string): Promise<void> {
    const rc = await this.remoteClusters.getRemote(remoteId);
    if (!rc) return;
    for (const scr of await this.repo.findPendingUnshares(remoteId)) await this.deliverUnshare(scr.channel_id, rc);
    for (const scr of await this.repo.findUnconfirmedForRemote(remoteId)) await this.deliverPendingInvite(scr, rc);
  }

  private async deliverPendingInvite(scr: SharedChannelRemoteEntity, rc: RemoteClusterJson): Promise<void> {
    const started = Date.now();
    const channel = await this.channels.findById(scr.channel_id);
    const share = await this.repo.findShare(scr.channel_id);
    if (!channel || channel.delete_at || !share?.home) {
      this.logger.warn({ channel_id: scr.channel_id, remote_id: rc.remote_id }, 'pending invite for a channel that cannot be shared any more: dropped');
      if (channel) await this.removeRemote(channel, rc, { tellPeer: false });
      return;
    }
    const delivery = await this.deliverInvite(channel, share, rc);
    if (!delivery.ok) {
      this.ephemeral(scr.creator_id, channel.id, `Error sending channel invite for ${rc.display_name}: ${delivery.reason}`);
      if (delivery.refused) {
        // The remote will never take this invite (e.g. the channel id exists there): withdraw it.
        this.logger.warn({ channel_id: channel.id, remote_id: rc.remote_id, reason: delivery.reason }, 'pending invite refused: withdrawn');
        await this.removeRemote(channel, rc, { tellPeer: false });
      }
      return;
    }
    await this.confirmInvite(channel, share, rc, scr.creator_id, true);
    this.logger.log({ channel_id: channel.id, remote_id: rc.remote_id, ms: Date.now() - started }, 'pending invite delivered');
    this.ephemeral(scr.creator_id, channel.id, `\`${rc.display_name}\` has been added to channel.`);
  }

  // ---- read-only (4.5, improved) --------------------------------------------------------------------------

  /**
   * On a server that received a read-only share, only channel and system admins post and react. Content a peer
   * sends (origin set) is the sync engine's to judge, and the home keeps posting freely.
   */
  private async readOnlyPolicy(attempt: ChannelWriteAttempt): Promise<void> {
    if (attempt.action === 'manage' || !attempt.channel.shared || attempt.origin.remoteId) return;
    if (attempt.systemAdmin || attempt.channelAdmin) return;
    const share = await this.repo.findShare(attempt.channel.id);
    if (!share || share.home || !share.readonly) return;
    throw attempt.action === 'post' ? SharedChannelErrors.readOnlyPost() : SharedChannelErrors.readOnlyReact();
  }

  /**
   * Whether the channel is shared read-only. On the home this means: refuse posts and reactions that remotes send
   * for it (the sync engine does); on a receiver, that local members other than admins cannot post or react.
   */
  async isReadOnlyFor(channelId: string): Promise<boolean> {
    return (await this.repo.findShare(channelId))?.readonly ?? false;
  }

  // ---- queries (protocol section 10) ----------------------------------------------------------------------

  /** GET /sharedchannels/{team_id}: members see the shared channels they are in; share managers see all. */
  async listTeamShares(auth: AuthContext, teamId: string, page: number, perPage: number): Promise<SharedChannelEntity[]> {
    await this.access.assertTeamMember(auth, teamId);
    const onlyChannels = rolesHavePermission(auth.roles, Permission.ManageSharedChannels)
      ? null
      : (await this.channels.myChannelsInTeam(auth, teamId)).map((c) => c.id);
    return this.repo.findSharesOfTeam(teamId, onlyChannels, page * perPage, perPage);
  }

  /** GET /sharedchannels/{channel_id}/remotes: the workspaces the channel is shared with (pending ones too). */
  async channelRemoteInfos(auth: AuthContext, channelId: string): Promise<RemoteClusterInfoJson[]> {
    await this.access.readable(auth, channelId);
    const rows = await this.repo.findLiveRemotesOfChannel(channelId);
    const infos: RemoteClusterInfoJson[] = [];
    for (const row of rows) {
      // Unlike Mattermost (protocol 12.22), looked up by the remote's id; a deleted connection still shows.
      const rc = await this.remoteClusters.get(row.remote_id).catch(() => null);
      infos.push(rc ? toRemoteClusterInfoJson(rc) : { remote_id: row.remote_id, name: row.remote_id, display_name: '', create_at: 0, delete_at: 0, last_ping_at: 0 });
    }
    return infos;
  }

  /** GET /sharedchannels/remote_info/{remote_id}: only for members of a channel shared with that remote. */
  async remoteInfo(auth: AuthContext, remoteId: string, includeDeleted: boolean): Promise<RemoteClusterInfoJson> {
    const rc = includeDeleted ? await this.remoteClusters.get(remoteId).catch(() => null) : await this.remoteClusters.getRemote(remoteId);
    if (!rc) throw SharedChannelErrors.remoteInfoNotFound();
    if (!isSystemAdmin(auth.roles)) {
      const channelIds = await this.repo.findLiveChannelIdsOfRemote(remoteId);
      if (!(await this.access.isMemberOfAny(auth.userId, channelIds))) throw SharedChannelErrors.remoteInfoNotFound();
    }
    return toRemoteClusterInfoJson(rc);
  }

  /** GET /remotecluster/{remote_id}/sharedchannelremotes. */
  async remotesOfRemote(remoteId: string, q: SharedChannelRemotesQuery): Promise<SharedChannelRemoteEntity[]> {
    if (q.exclude_home && q.exclude_remote) throw SharedChannelErrors.excludeHomeAndRemote();
    await this.remoteClusters.get(remoteId);
    return this.repo.findRemotesOfRemoteFiltered(
      remoteId,
      {
        includeUnconfirmed: q.include_unconfirmed,
        excludeConfirmed: q.exclude_confirmed,
        excludeHome: q.exclude_home,
        excludeRemote: q.exclude_remote,
        includeDeleted: q.include_deleted,
      },
      q.page * q.per_page,
      q.per_page,
    );
  }

  /**
   * GET /sharedchannels/users/{user_id}/can_dm/{other_user_id}: false when the other user is remote and the server
   * it comes from (OriginalRemoteId) is not one we are directly and confidently connected to.
   */
  async canDirectMessage(auth: AuthContext, userId: string, otherUserId: string): Promise<boolean> {
    const uid = userId === 'me' ? auth.userId : userId;
    const oid = otherUserId === 'me' ? auth.userId : otherUserId;
    const user = await this.users.find(uid);
    if (!user) throw AppError.notFound('app.user.missing_account.const', 'Unable to find the user.');
    const other = await this.users.find(oid);
    if (!other || other.delete_at) return false;
    if (!other.remote_id) return true;
    const origin = other.props?.[PROP_ORIGINAL_REMOTE_ID] || other.remote_id;
    const rc = await this.remoteClusters.getRemote(origin);
    return !!rc && !!rc.creator_id && rc.site_url !== '' && !rc.site_url.startsWith('pending_');
  }

  // ---- helpers ----------------------------------------------------------------------------------------------

  private async remoteRef(remoteId: string): Promise<RemoteRef> {
    const rc = await this.remoteClusters.get(remoteId).catch(() => null);
    return rc ?? { remote_id: remoteId, display_name: remoteId, last_ping_at: 0 };
  }

  joinedPost(tx: Tx, channelId: string, authorId: string, rc: RemoteRef): Promise<ChangeEvent> {
    return this.statePost(tx, channelId, authorId, rc, 'joined', joinedMessage(rc.display_name));
  }

  private unsharedPost(tx: Tx, channelId: string, authorId: string, rc: RemoteRef): Promise<ChangeEvent> {
    return this.statePost(tx, channelId, authorId, rc, 'unshared', UNSHARED_MESSAGE);
  }

  /**
   * A system_generic post (Mattermost's type for its shared-channel notices) with our state in props. Every
   * system_* post is this server's own notice: the sync engine does not send it to peers.
   */
  private async statePost(tx: Tx, channelId: string, authorId: string, rc: RemoteRef, state: 'joined' | 'left' | 'unshared', message: string): Promise<ChangeEvent> {
    const { event } = await this.posts.createSystemPostTx(tx, {
      channel_id: channelId,
      user_id: authorId,
      message,
      props: { [SHARED_CHANNEL_STATE_PROP]: state, workspace_name: rc.display_name, remote_id: rc.remote_id },
    });
    return event;
  }

  /**
   * Mattermost tells the inviting user the outcome in an ephemeral post: the chat core announces it (the
   * WebSocket's ephemeral_message to that user) and it is logged too.
   */
  private ephemeral(userId: string, channelId: string, message: string): void {
    this.logger.log({ user_id: userId, channel_id: channelId, ephemeral: message }, `to user ${userId}: ${message}`);
    this.posts.sendEphemeral(userId, channelId, message);
  }
}
