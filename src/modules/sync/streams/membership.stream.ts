import { Injectable } from '@nestjs/common';
import { UserDirectory, type UserRecord } from '../../auth/user-directory.service.js';
import { ChannelFeed } from '../../chat/feed/channel-feed.service.js';
import { MEMBERSHIP_BATCH, MEMBER_EVENTS_PER_PASS, MembershipService } from '../../membership/membership.service.js';
import { sanitizeUserForSync } from '../../shared-channel/remote-users.service.js';
import { SharedChannelStore } from '../../shared-channel/shared-channel-store.service.js';
import type { MembershipChangeMsg } from '../../shared-channel/wire.types.js';
import { SYNC_RETRIES_PER_PASS } from '../sync.constants.js';
import { SyncMetrics } from '../sync.metrics.js';
import type { PassContext, SyncStream } from '../sync-pass.js';
import { SyncRepository } from '../sync.repository.js';
import { SyncTransport } from '../sync-transport.service.js';
import { UserStream } from './user.stream.js';

export interface MembershipsCollected {
  /** The net change per user (journal since the cursor, and due retries with the user's membership as it is now). */
  changes: MembershipChangeMsg[];
  /** Profiles of the users added, to travel with their changes. */
  addedUsers: UserRecord[];
  /** Journal events read: the cursor moves past them. */
  scanned: number;
  lastSeq: number;
  lastAt: number;
  dropped: string[];
  full: boolean;
}

export interface MembershipsOutcome {
  accepted: MembershipChangeMsg[];
  refused: MembershipChangeMsg[];
  tooLarge: MembershipChangeMsg[];
  /** Added users whose profiles the receiver listed in users_syncd. */
  profilesTaken: UserRecord[];
}

/**
 * Membership changes (protocol 8, history based, when ENABLE_MEMBERSHIP_SYNC): the latest change of each of this
 * server's own users since the journal cursor, MEMBERSHIP_BATCH per message with the added users' profiles. A change
 * the receiver refuses (`membership_errors`: user ids from our receiver; a step's error text from Mattermost's, which
 * refuses the whole message) is retried with backoff, re-read from the membership as it is then, and parked after
 * SYNC_POST_MAX_ATTEMPTS. Members of direct and group channels are fixed at the invite: their events move the cursor
 * and nothing is sent.
 */
@Injectable()
export class MembershipStream implements SyncStream<void, MembershipsCollected | null, MembershipsOutcome> {
  constructor(
    private readonly membership: MembershipService,
    private readonly feed: ChannelFeed,
    private readonly users: UserDirectory,
    private readonly shares: SharedChannelStore,
    private readonly repo: SyncRepository,
    private readonly transport: SyncTransport,
    private readonly userStream: UserStream,
    private readonly metrics: SyncMetrics,
  ) {}

  async collect(ctx: PassContext): Promise<MembershipsCollected | null> {
    if (!this.membership.enabled) return null;
    const { channelId, remoteId, scr } = ctx;
    const [collected, due] = await Promise.all([
      this.membership.collect(channelId, remoteId, scr.last_member_event_seq, MEMBER_EVENTS_PER_PASS),
      this.repo.dueRetries(channelId, remoteId, 'membership', ctx.now, SYNC_RETRIES_PER_PASS),
    ]);
    const fixed = ctx.share?.type === 'D' || ctx.share?.type === 'G';
    const out: MembershipsCollected = {
      changes: fixed ? [] : collected.changes,
      addedUsers: fixed ? [] : collected.addedUsers,
      scanned: collected.scanned,
      lastSeq: collected.lastSeq,
      lastAt: collected.lastAt,
      dropped: [],
      full: collected.scanned >= MEMBER_EVENTS_PER_PASS || due.length >= SYNC_RETRIES_PER_PASS,
    };
    const fresh = new Set(out.changes.map((c) => c.user_id));
    const retryIds = due.map((r) => r.item_key).filter((id) => !fresh.has(id));
    if (!retryIds.length) return out;
    const [owned, members] = await Promise.all([this.users.findMany(retryIds), this.feed.channelMemberIds(channelId, retryIds)]);
    const local = new Map(owned.filter((u) => !u.remote_id).map((u) => [u.id, u]));
    const isMember = new Set(members);
    for (const id of retryIds) {
      const user = local.get(id);
      if (!user || fixed) {
        out.dropped.push(id);
        continue;
      }
      out.changes.push({ channel_id: channelId, user_id: id, is_add: isMember.has(id), remote_id: '', change_time: ctx.now });
      if (isMember.has(id)) out.addedUsers.push(user);
    }
    return out;
  }

  async send(ctx: PassContext, c: MembershipsCollected | null): Promise<MembershipsOutcome> {
    const out: MembershipsOutcome = { accepted: [], refused: [], tooLarge: [], profilesTaken: [] };
    if (!c?.changes.length) return out;
    const added = new Map(c.addedUsers.map((u) => [u.id, u]));
    const profiles = (chunk: MembershipChangeMsg[]) => chunk.flatMap((ch) => (ch.is_add && added.has(ch.user_id) ? [added.get(ch.user_id)!] : []));
    const d = await this.transport.deliver(ctx, {
      kind: 'membership',
      items: c.changes,
      content: (chunk) => {
        const users = profiles(chunk);
        return { membership_changes: chunk, ...(users.length ? { users: Object.fromEntries(users.map((u) => [u.id, sanitizeUserForSync(u)])) } : {}) };
      },
      replyKey: (ch) => ch.user_id,
      maxItems: MEMBERSHIP_BATCH,
      bytes: (ch) => Buffer.byteLength(JSON.stringify(ch)) + (ch.is_add && added.has(ch.user_id) ? Buffer.byteLength(JSON.stringify(sanitizeUserForSync(added.get(ch.user_id)!))) : 0),
    });
    for (const { items, reply } of d.replies) {
      const syncd = new Set(Array.isArray(reply?.users_syncd) ? reply.users_syncd : []);
      out.profilesTaken.push(...profiles(items).filter((u) => syncd.has(u.id)));
    }
    out.accepted = d.accepted;
    out.refused = d.refused;
    out.tooLarge = d.tooLarge;
    ctx.sent.memberships += d.accepted.length;
    if (d.accepted.length) this.metrics.itemsSent.inc({ remote_id: ctx.remoteId, kind: 'membership' }, d.accepted.length);
    return out;
  }

  async advance(ctx: PassContext, c: MembershipsCollected | null, o: MembershipsOutcome): Promise<void> {
    if (!c) return;
    const { channelId, remoteId, now, scr } = ctx;
    const where = { channelId, remoteId };
    const row = (ch: MembershipChangeMsg) => ({ kind: 'membership' as const, item_key: ch.user_id, post_id: '' });
    await this.userStream.markSynced(ctx, o.profilesTaken);
    await this.repo.recordRetries(o.refused.map(row), where, { error: `refused by ${ctx.remoteName}`, now, attempt: true, maxAttempts: ctx.maxAttempts });
    await this.repo.recordRetries(o.tooLarge.map(row), where, {
      error: `too large for ${ctx.remoteName} even alone (413)`,
      now,
      attempt: true,
      park: true,
      maxAttempts: ctx.maxAttempts,
    });
    if (o.refused.length) this.metrics.itemErrors.inc({ remote_id: remoteId, kind: 'membership' }, o.refused.length);
    await this.repo.recordAccepted(channelId, remoteId, 'membership', [...o.accepted.map((ch) => ch.user_id), ...c.dropped], now);
    if (c.scanned) {
      await this.shares.saveCursors(scr.id, {
        last_member_event_seq: c.lastSeq,
        last_members_sync_at: Math.max(scr.last_members_sync_at, c.lastAt),
      });
    }
  }
}
