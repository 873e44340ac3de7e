import { Injectable } from '@nestjs/common';
import { UserDirectory } from '../../auth/user-directory.service.js';
import { ChannelFeed, type StatusRecord } from '../../chat/feed/channel-feed.service.js';
import { UsersProfileService } from '../../chat/users/users-profile.service.js';
import { SharedChannelStore } from '../../shared-channel/shared-channel-store.service.js';
import { SYNC_BATCH_USER_EVENTS, SYNC_RETRIES_PER_PASS } from '../sync.constants.js';
import { SyncMetrics } from '../sync.metrics.js';
import type { PassContext, SyncStream } from '../sync-pass.js';
import { SyncRepository } from '../sync.repository.js';
import { SyncTransport } from '../sync-transport.service.js';
import { toWireStatus } from '../sync-wire.js';

export interface StatusesCollected {
  /** Journalled user changes (profile, picture, status) of channel members since the cursor. */
  events: Array<{ seq: number; kind: string; user_id: string }>;
  /** Current statuses of those users (not the remote's own), and of refused ones whose retry is due. */
  statuses: StatusRecord[];
  /** Everyone the events name: their profiles may have changed (the user stream decides). */
  userIds: string[];
  dropped: string[];
  full: boolean;
}

export interface StatusesOutcome {
  accepted: StatusRecord[];
  refused: StatusRecord[];
  tooLarge: StatusRecord[];
}

/**
 * Statuses (protocol 5.6 step 7, 6.6) of the channel's members (never the remote's own users), from the journal
 * cursor of user-level changes (which also feeds profile changes to the user stream). Always the status as it is now;
 * one the receiver refuses (`status_errors`) is retried, as it is then, with backoff.
 */
@Injectable()
export class StatusStream implements SyncStream<void, StatusesCollected, StatusesOutcome> {
  constructor(
    private readonly feed: ChannelFeed,
    private readonly users: UserDirectory,
    private readonly profiles: UsersProfileService,
    private readonly shares: SharedChannelStore,
    private readonly repo: SyncRepository,
    private readonly transport: SyncTransport,
    private readonly metrics: SyncMetrics,
  ) {}

  async collect(ctx: PassContext): Promise<StatusesCollected> {
    const { channelId, remoteId, scr } = ctx;
    const [events, due] = await Promise.all([
      this.feed.userEventsAfter(channelId, scr.last_user_event_seq, SYNC_BATCH_USER_EVENTS),
      this.repo.dueRetries(channelId, remoteId, 'status', ctx.now, SYNC_RETRIES_PER_PASS),
    ]);
    const ids = [...new Set([...events.filter((e) => e.kind === 'status_changed').map((e) => e.user_id), ...due.map((r) => r.item_key)])];
    // Statuses of this server's users and of those it relays; never the remote's own back to it.
    const own = new Set((await this.users.findMany(ids)).filter((u) => u.remote_id !== remoteId).map((u) => u.id));
    const statuses = (await this.profiles.statusesOf(ids.filter((id) => own.has(id)))).filter((s) => s.update_at > 0);
    const withStatus = new Set(statuses.map((s) => s.user_id));
    return {
      events,
      statuses,
      userIds: [...new Set(events.map((e) => e.user_id))],
      dropped: due.map((r) => r.item_key).filter((id) => !withStatus.has(id)),
      full: events.length >= SYNC_BATCH_USER_EVENTS || due.length >= SYNC_RETRIES_PER_PASS,
    };
  }

  async send(ctx: PassContext, c: StatusesCollected): Promise<StatusesOutcome> {
    if (!c.statuses.length) return { accepted: [], refused: [], tooLarge: [] };
    const d = await this.transport.deliver(ctx, {
      kind: 'status',
      items: c.statuses,
      content: (chunk) => ({ statuses: chunk.map(toWireStatus) }),
      replyKey: (s) => s.user_id,
      maxItems: SYNC_BATCH_USER_EVENTS,
      bytes: (s) => Buffer.byteLength(JSON.stringify(toWireStatus(s))),
    });
    ctx.sent.statuses += d.accepted.length;
    if (d.accepted.length) this.metrics.itemsSent.inc({ remote_id: ctx.remoteId, kind: 'status' }, d.accepted.length);
    return { accepted: d.accepted, refused: d.refused, tooLarge: d.tooLarge };
  }

  async advance(ctx: PassContext, c: StatusesCollected, o: StatusesOutcome): Promise<void> {
    const { channelId, remoteId, now, scr } = ctx;
    const where = { channelId, remoteId };
    const row = (s: StatusRecord) => ({ kind: 'status' as const, item_key: s.user_id, post_id: '' });
    await this.repo.recordRetries(o.refused.map(row), where, { error: `refused by ${ctx.remoteName}`, now, attempt: true, maxAttempts: ctx.maxAttempts });
    await this.repo.recordRetries(o.tooLarge.map(row), where, { error: `too large for ${ctx.remoteName}`, now, attempt: true, park: true, maxAttempts: ctx.maxAttempts });
    if (o.refused.length) this.metrics.itemErrors.inc({ remote_id: remoteId, kind: 'status' }, o.refused.length);
    await this.repo.recordAccepted(channelId, remoteId, 'status', [...o.accepted.map((s) => s.user_id), ...c.dropped], now);
    if (c.events.length) await this.shares.saveCursors(scr.id, { last_user_event_seq: c.events[c.events.length - 1].seq });
  }
}
