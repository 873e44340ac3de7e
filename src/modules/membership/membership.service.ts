import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { TransactionRunner } from '../../database/transaction-runner.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { UserDirectory, type UserRecord } from '../auth/user-directory.service.js';
import { ChannelsService, type ChannelRecord } from '../chat/channels/channels.service.js';
import type { ChangeEvent, ChangeOrigin } from '../chat/events/change-event.types.js';
import { ChangeKind } from '../chat/events/change-event.types.js';
import { ChangeEventsService } from '../chat/events/change-events.service.js';
import { ChannelFeed } from '../chat/feed/channel-feed.service.js';
import { TeamsService } from '../chat/teams/teams.service.js';
import type { RemoteClusterJson } from '../remote-cluster/remote-cluster.mapper.js';
import type { MembershipChangeMsg } from '../shared-channel/wire.types.js';

/** Membership changes per sync message (Mattermost's MemberSyncBatchSize is 20). */
export const MEMBERSHIP_BATCH = 100;
/** Journal events read per pass; their net effect (one change per user) goes out in MEMBERSHIP_BATCH chunks. */
export const MEMBER_EVENTS_PER_PASS = 1000;

const ID_RE = /^[a-z0-9]{26}$/;

export interface MembershipCollection {
  /** The net change per user, in journal order of each user's latest event. */
  changes: MembershipChangeMsg[];
  /** Profiles of the users added, to travel with their changes. */
  addedUsers: UserRecord[];
  /** Journal events read: the cursor moves past all of them once the changes are accepted. */
  scanned: number;
  lastSeq: number;
  /** create_at of the newest event read (Mattermost's last_members_sync_at). */
  lastAt: number;
}

/**
 * Membership sync (protocol 8, history based). The change journal is the history: the sender reads the channel's
 * member_added/member_removed events after its journal cursor and sends the latest change of each of its own users;
 * the receiver adds (with the team) or removes those users, only users the sender owns, journalled with the sender
 * as origin so they are not echoed back.
 */
@Injectable()
export class MembershipService {
  private readonly logger = new Logger(MembershipService.name);
  private readonly applied: Counter<'remote_id' | 'kind'>;

  constructor(
    private readonly feed: ChannelFeed,
    private readonly users: UserDirectory,
    private readonly channels: ChannelsService,
    private readonly teams: TeamsService,
    private readonly events: ChangeEventsService,
    private readonly tx: TransactionRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    this.applied = metrics.counter('shared_channels_membership_changes_applied_total', 'Membership changes from remotes applied here', [
      'remote_id',
      'kind',
    ]);
  }

  get enabled(): boolean {
    return this.config.sync.membershipSync;
  }

  /**
   * What `remoteId` must learn about the channel's members since journal seq `afterSeq`: only this server's own
   * users (never a remote's, least of all the target's), one net change each. A cursor of 0 covers the whole
   * history, so the first pass after an invite sends every current member.
   */
  async collect(channelId: string, remoteId: string, afterSeq: number, limit = MEMBER_EVENTS_PER_PASS): Promise<MembershipCollection> {
    const events = await this.feed.memberEventsAfter(channelId, afterSeq, limit);
    const latest = new Map<string, (typeof events)[number]>();
    for (const e of events) {
      if (!e.user_id) continue;
      latest.delete(e.user_id);
      latest.set(e.user_id, e);
    }
    const candidates = [...latest.values()].filter((e) => e.origin_remote_id !== remoteId);
    const users = new Map((await this.users.findMany(candidates.map((e) => e.user_id))).map((u) => [u.id, u]));
    const changes: MembershipChangeMsg[] = [];
    const addedUsers: UserRecord[] = [];
    for (const e of candidates) {
      const user = users.get(e.user_id);
      if (!user || user.remote_id) continue;
      const isAdd = e.kind === ChangeKind.MemberAdded;
      changes.push({ channel_id: channelId, user_id: user.id, is_add: isAdd, remote_id: '', change_time: e.create_at });
      if (isAdd) addedUsers.push(user);
    }
    const last = events[events.length - 1];
    return { changes, addedUsers, scanned: events.length, lastSeq: last?.seq ?? afterSeq, lastAt: last?.create_at ?? 0 };
  }

  /**
   * Applies a remote's membership changes to a channel shared with it. Each change names a user the sender owns;
   * an add brings the user into the channel's team first. Returns the ids of the users whose change was refused
   * (membership_errors); accepted changes are written in one transaction.
   */
  async apply(sender: RemoteClusterJson, channel: ChannelRecord, changes: MembershipChangeMsg[]): Promise<string[]> {
    const errors: string[] = [];
    const refuse = (userId: unknown, reason: string) => {
      errors.push(typeof userId === 'string' ? userId : '');
      this.logger.warn({ remote_id: sender.remote_id, channel_id: channel.id, user_id: userId, reason }, 'refused a membership change');
    };
    const byUser = new Map<string, MembershipChangeMsg>();
    for (const c of changes) {
      if (!c || typeof c !== 'object' || typeof c.user_id !== 'string' || !ID_RE.test(c.user_id) || typeof c.is_add !== 'boolean') {
        refuse(c?.user_id, 'malformed change');
        continue;
      }
      if (c.channel_id !== channel.id) {
        refuse(c.user_id, 'change for another channel');
        continue;
      }
      byUser.delete(c.user_id);
      byUser.set(c.user_id, c);
    }
    if (!byUser.size) return errors;
    if (channel.delete_at || channel.type === 'D' || channel.type === 'G') {
      for (const id of byUser.keys()) refuse(id, channel.delete_at ? 'channel is deleted' : 'members of direct and group channels are fixed');
      return errors;
    }
    const users = new Map((await this.users.findMany([...byUser.keys()])).map((u) => [u.id, u]));
    const accepted: MembershipChangeMsg[] = [];
    for (const c of byUser.values()) {
      const user = users.get(c.user_id);
      // Removing a user this server never heard of changes nothing (the user joined and left while it was away).
      if (!user && !c.is_add) continue;
      if (!user) refuse(c.user_id, 'unknown user');
      else if (user.remote_id !== sender.remote_id) refuse(c.user_id, 'user is not owned by the sender');
      else if (c.is_add && user.delete_at) refuse(c.user_id, 'user is deactivated');
      else accepted.push(c);
    }
    if (!accepted.length) return errors;

    const origin: ChangeOrigin = { remoteId: sender.remote_id };
    const inTeam = new Set(await this.feed.teamMemberIds(channel.team_id, accepted.filter((c) => c.is_add).map((c) => c.user_id)));
    const now = Date.now();
    const published = await this.tx.run(async (tx) => {
      const out: ChangeEvent[] = [];
      for (const c of accepted) {
        if (c.is_add) {
          if (!inTeam.has(c.user_id)) await this.teams.addMemberTx(tx, channel.team_id, c.user_id, false, now);
          const e = await this.channels.addMemberTx(tx, channel, c.user_id, false, origin);
          if (e) out.push(e);
        } else {
          const e = await this.channels.removeMemberTx(tx, channel.id, c.user_id, origin);
          if (e) out.push(e);
        }
      }
      return out;
    });
    this.events.publish(published);
    const added = published.filter((e) => e.kind === ChangeKind.MemberAdded).length;
    if (added) this.applied.inc({ remote_id: sender.remote_id, kind: 'add' }, added);
    if (published.length - added) this.applied.inc({ remote_id: sender.remote_id, kind: 'remove' }, published.length - added);
    return errors;
  }
}
