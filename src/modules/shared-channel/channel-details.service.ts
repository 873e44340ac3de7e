import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { isValidId } from '../../common/ids.js';
import { TransactionRunner } from '../../database/transaction-runner.js';
import { UserDirectory } from '../auth/user-directory.service.js';
import { CHANNEL_DETAIL_FIELDS, type ChannelDetailsPatch, channelDetailsProblem } from '../chat/channels/channel-details.js';
import { type ChannelDetailsAttempt, type ChannelRecord, ChannelsService, type DetailsActor } from '../chat/channels/channels.service.js';
import { CHAT_CHANGE_EVENT, type ChangeEvent, ChangeKind } from '../chat/events/change-event.types.js';
import { ChangeEventsService } from '../chat/events/change-events.service.js';
import { RESPONSE_STATUS_OK, type RemoteClusterMsg } from '../remote-cluster/dto/frame.dto.js';
import { RemoteClusterTransportError } from '../remote-cluster/remote-cluster.client.js';
import type { RemoteClusterJson } from '../remote-cluster/remote-cluster.mapper.js';
import { RemoteClusterService } from '../remote-cluster/remote-cluster.service.js';
import { TopicRegistry } from '../remote-cluster/topic-registry.service.js';
import { ChannelShareRejected, SharedChannelErrors } from './shared-channel.errors.js';
import { SharedChannelRepository } from './shared-channel.repository.js';
import { type ChannelDetailsMsg, type ChannelDetailsReply, type ChannelDetailsState, TOPIC_CHANNEL_DETAILS } from './wire.types.js';

/** The details of a channel as they travel, with their version (the home's channel update_at). */
export function detailsState(channel: Pick<ChannelRecord, 'display_name' | 'header' | 'purpose' | 'update_at'>): ChannelDetailsState {
  return { display_name: channel.display_name, header: channel.header, purpose: channel.purpose, update_at: channel.update_at };
}

/** A mmfed_channel_details payload, checked; throws ChannelShareRejected (a FAIL the sender reads as a refusal). */
export function parseChannelDetailsMsg(payload: unknown): ChannelDetailsMsg {
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) throw new ChannelShareRejected('invalid channel details message');
  const m = payload as Record<string, unknown>;
  if (m.kind !== 'update' && m.kind !== 'propose') throw new ChannelShareRejected('invalid channel details message: kind');
  if (!isValidId(m.channel_id)) throw new ChannelShareRejected('invalid channel details message: channel_id');
  if (!isValidId(m.user_id)) throw new ChannelShareRejected('invalid channel details message: user_id');
  if (typeof m.update_at !== 'number' || !Number.isFinite(m.update_at) || m.update_at < 0) {
    throw new ChannelShareRejected('invalid channel details message: update_at');
  }
  if (typeof m.username !== 'string' || m.username.length > 128 || m.username.includes('\u0000')) {
    throw new ChannelShareRejected('invalid channel details message: username');
  }
  const problem = channelDetailsProblem(m as ChannelDetailsPatch);
  if (problem) throw new ChannelShareRejected(`invalid channel details message: ${problem}`);
  if (m.kind === 'update' && CHANNEL_DETAIL_FIELDS.some((f) => typeof m[f] !== 'string')) {
    throw new ChannelShareRejected('invalid channel details message: an update carries every field');
  }
  return m as unknown as ChannelDetailsMsg;
}

function patchOf(msg: Pick<ChannelDetailsMsg, 'display_name' | 'header' | 'purpose'>): ChannelDetailsPatch {
  const patch: ChannelDetailsPatch = {};
  for (const field of CHANNEL_DETAIL_FIELDS) if (typeof msg[field] === 'string') patch[field] = msg[field];
  return patch;
}

/**
 * A shared channel's display name, header and purpose (Mattermost never syncs them: MM-54023). The home is the
 * authority, with last-writer-wins in the order it applies changes:
 *
 * - a change made on the home is journalled (ChannelUpdated) and the sync engine's details stream sends the details
 *   as they are, with their version, to every remote (mmfed_channel_details `update`); a remote applies a version
 *   newer than the one it has, so replays and reordering change nothing;
 * - a change a member makes on a remote is not applied there: it is forwarded to the home (`propose`), which applies
 *   it if that member may change the channel there (a member of it, with manage_public/private_channel_properties,
 *   as the home's own users), answers with the result, and relays it to every remote; the member's server applies the
 *   answer at once, or answers the member 403 with the home's reason (502 when the home cannot be reached);
 * - each side writes Mattermost's notices (system_displayname_change, system_header_change, system_purpose_change) as
 *   its own local posts, never synced.
 *
 * A Mattermost peer answers the topic OK with no payload: a Mattermost home keeps its details to itself (a change on
 * this side stays here, as between two Mattermost servers), and the stream passes Mattermost remotes over.
 */
@Injectable()
export class ChannelDetailsService implements OnModuleInit {
  private readonly logger = new Logger(ChannelDetailsService.name);

  constructor(
    private readonly topics: TopicRegistry,
    private readonly channels: ChannelsService,
    private readonly repo: SharedChannelRepository,
    private readonly remoteClusters: RemoteClusterService,
    private readonly users: UserDirectory,
    private readonly changeEvents: ChangeEventsService,
    private readonly tx: TransactionRunner,
  ) {}

  onModuleInit(): void {
    this.topics.register(TOPIC_CHANNEL_DETAILS, (rc, msg: RemoteClusterMsg) => this.receive(rc, msg.payload));
    this.channels.registerDetailsDelegate((attempt) => this.forwardToHome(attempt));
  }

  // ---- a member's change on a remote (the proposing side) ------------------------------------------------------

  /**
   * The chat core's details delegate: on a channel homed elsewhere, the change goes to the home, and what it answers
   * is applied here. Undefined (apply here) for channels homed here or not shared, and for a home that does not know
   * the topic (a Mattermost server).
   */
  private async forwardToHome(attempt: ChannelDetailsAttempt): Promise<ChannelRecord | undefined> {
    const share = await this.repo.findShare(attempt.channel.id);
    if (!share || share.home || !share.remote_id) return undefined;
    const home = await this.remoteClusters.getRemote(share.remote_id);
    if (!home) return undefined;
    const user = await this.users.find(attempt.auth.userId);
    const msg: ChannelDetailsMsg = {
      kind: 'propose',
      channel_id: attempt.channel.id,
      ...attempt.patch,
      update_at: 0,
      user_id: attempt.auth.userId,
      username: user?.username ?? '',
    };
    if (!this.remoteClusters.isOnline(home)) throw SharedChannelErrors.homeUnreachable(home.display_name, 'the home server is offline');
    let reply;
    try {
      reply = await this.remoteClusters.sendMsg(home.remote_id, TOPIC_CHANNEL_DETAILS, msg);
    } catch (err) {
      if (!(err instanceof RemoteClusterTransportError)) throw err;
      throw SharedChannelErrors.homeUnreachable(home.display_name, err.describe('the home server'));
    }
    if (reply.status !== RESPONSE_STATUS_OK) throw SharedChannelErrors.homeUnreachable(home.display_name, reply.err.slice(0, 200));
    const answer = reply.payload as ChannelDetailsReply | null;
    // A home that does not know the topic (Mattermost): the change stays on this server, as Mattermost's would.
    if (!answer || typeof answer !== 'object') return undefined;
    if (answer.status === 'refused') {
      throw SharedChannelErrors.detailsRefusedByHome(home.display_name, typeof answer.reason === 'string' ? answer.reason.slice(0, 300) : 'refused');
    }
    if (answer.status !== 'applied' || !answer.channel) throw SharedChannelErrors.homeUnreachable(home.display_name, 'unexpected answer');
    const applied = await this.applyFromHome(attempt.channel.id, home, answer.channel, { userId: attempt.auth.userId });
    return applied ?? (await this.channels.findById(attempt.channel.id)) ?? attempt.channel;
  }

  // ---- receiving --------------------------------------------------------------------------------------------

  async receive(rc: RemoteClusterJson, payload: unknown): Promise<ChannelDetailsReply> {
    const msg = parseChannelDetailsMsg(payload);
    try {
      return msg.kind === 'propose' ? await this.receiveProposal(rc, msg) : await this.receiveUpdate(rc, msg);
    } catch (err) {
      if (err instanceof ChannelShareRejected) throw err;
      this.logger.error({ err, remote_id: rc.remote_id, channel_id: msg.channel_id }, 'channel details failed');
      // FAIL: the sender tries again (a transient failure here must not lose the change).
      throw new Error('cannot process channel details: internal error', { cause: err });
    }
  }

  /** On the home: a remote's member wants to change the details. Applied when that member may, then relayed. */
  private async receiveProposal(rc: RemoteClusterJson, msg: ChannelDetailsMsg): Promise<ChannelDetailsReply> {
    const refuse = (reason: string): ChannelDetailsReply => {
      this.logger.warn({ remote_id: rc.remote_id, channel_id: msg.channel_id, user_id: msg.user_id, reason }, 'refused a change of channel details');
      return { status: 'refused', reason };
    };
    const [share, scr, channel, user] = await Promise.all([
      this.repo.findShare(msg.channel_id),
      this.repo.findRemote(msg.channel_id, rc.remote_id),
      this.channels.findById(msg.channel_id),
      this.users.find(msg.user_id),
    ]);
    if (!share?.home || !channel) return refuse('the channel is not homed on this server');
    if (!scr || scr.delete_at || !scr.is_invite_confirmed) return refuse('the channel is not shared with your server');
    if (channel.delete_at) return refuse('the channel is archived');
    if (!user) return refuse(`user ${msg.user_id} is not known on the channel's home server`);
    if (user.remote_id !== rc.remote_id) return refuse(`user ${msg.user_id} does not belong to your server`);
    if (user.delete_at) return refuse(`user ${msg.user_id} is deactivated`);
    if (!(await this.channels.mayChangeDetails({ id: user.id, roles: user.roles }, channel))) {
      return refuse(`${user.username} may not change this channel's details on its home server (not a member with the permission)`);
    }
    const result = await this.tx.run((tx) => this.channels.changeDetailsTx(tx, channel.id, patchOf(msg), { userId: user.id }, { remoteId: rc.remote_id }));
    this.changeEvents.publish(result.events);
    this.logger.log({ remote_id: rc.remote_id, channel_id: channel.id, user_id: user.id }, 'channel details changed by a remote member');
    return { status: 'applied', channel: detailsState(result.channel) };
  }

  /** On a remote: the home's details, applied when newer than the version this server has. */
  private async receiveUpdate(rc: RemoteClusterJson, msg: ChannelDetailsMsg): Promise<ChannelDetailsReply> {
    const share = await this.repo.findShare(msg.channel_id);
    if (!share || share.home || share.remote_id !== rc.remote_id) return { status: 'refused', reason: 'the channel is not shared from your server' };
    const applied = await this.applyFromHome(
      msg.channel_id,
      rc,
      { display_name: msg.display_name!, header: msg.header!, purpose: msg.purpose!, update_at: msg.update_at },
      { userId: msg.user_id, username: msg.username || undefined, fallbackAuthorId: rc.creator_id || share.creator_id },
    );
    return applied ? { status: 'applied', channel: detailsState(applied) } : { status: 'stale' };
  }

  /**
   * Applies the home's details if their version is newer than the one this server has (under the share row's lock,
   * so two deliveries of one version apply it once). The channel as it is then, or null when stale or not shared.
   */
  private async applyFromHome(channelId: string, home: RemoteClusterJson, state: ChannelDetailsState, actor: DetailsActor): Promise<ChannelRecord | null> {
    const result = await this.tx.run(async (tx) => {
      const share = await this.repo.findShareForUpdate(tx, channelId);
      if (!share || share.home || share.remote_id !== home.remote_id || state.update_at <= share.details_update_at) return null;
      const changed = await this.channels.changeDetailsTx(tx, channelId, patchOf(state), actor, { remoteId: home.remote_id });
      await this.repo.updateShareDetails(tx, channelId, {
        display_name: state.display_name,
        header: state.header,
        purpose: state.purpose,
        details_update_at: state.update_at,
      });
      return changed;
    });
    if (!result) return null;
    this.changeEvents.publish(result.events);
    return result.channel;
  }

  /** On the home, the share row shows the channel's details as they are now (Mattermost's SharedChannel fields). */
  @OnEvent(CHAT_CHANGE_EVENT)
  async onChannelUpdated(event: ChangeEvent): Promise<void> {
    if (event.kind !== ChangeKind.ChannelUpdated) return;
    const [share, channel] = await Promise.all([this.repo.findShare(event.channel_id), this.channels.findById(event.channel_id)]);
    if (!share?.home || !channel) return;
    await this.repo.updateShareDetails(undefined, channel.id, {
      display_name: channel.display_name,
      header: channel.header,
      purpose: channel.purpose,
      update_at: Math.max(share.update_at, channel.update_at),
    });
  }
}
