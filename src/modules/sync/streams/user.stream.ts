import { Injectable } from '@nestjs/common';
import { newId } from '../../../common/ids.js';
import { UserDirectory, type UserRecord } from '../../auth/user-directory.service.js';
import { sanitizeUserForSync } from '../../shared-channel/remote-users.service.js';
import { SharedChannelStore, type SharedChannelUserRow } from '../../shared-channel/shared-channel-store.service.js';
import { SYNC_BATCH_USERS, SYNC_RETRIES_PER_PASS } from '../sync.constants.js';
import { SyncMetrics } from '../sync.metrics.js';
import type { PassContext, SyncStream } from '../sync-pass.js';
import { SyncRepository } from '../sync.repository.js';
import { SyncTransport } from '../sync-transport.service.js';

export interface UsersInput {
  /** Everyone the pass's content refers to: authors, reactors, mentioned members, changed members. */
  referenced: string[];
}

export interface UsersCollected {
  /** The referenced users this remote may get (never its own), for the profile image stream. */
  referenced: UserRecord[];
  /** Those whose profile it has not got since they last changed, and refused ones whose retry is due. */
  toSend: UserRecord[];
  /** Retry rows of users that are gone or no longer to be sent. */
  dropped: string[];
}

export interface UsersOutcome {
  accepted: UserRecord[];
  refused: UserRecord[];
  tooLarge: UserRecord[];
}

/**
 * Users (protocol 5.6 step 1, sanitised as 6.2), 25 per message: the users the content of this pass refers to whose
 * profile changed since it last reached this remote (SharedChannelUsers.last_sync_at), and refused ones whose retry is
 * due. Accepted means listed in `users_syncd`; anyone else was refused (Mattermost leaves failures out of
 * `user_errors`) and is retried with backoff, then parked. A user too large for the receiver even alone is parked at
 * once, and a parked user is not sent again until an admin retries it: the posts that need it are refused and parked
 * in turn, visibly, and the channel goes on.
 */
@Injectable()
export class UserStream implements SyncStream<UsersInput, UsersCollected, UsersOutcome> {
  constructor(
    private readonly users: UserDirectory,
    private readonly shares: SharedChannelStore,
    private readonly repo: SyncRepository,
    private readonly transport: SyncTransport,
    private readonly metrics: SyncMetrics,
  ) {}

  async collect(ctx: PassContext, input: UsersInput): Promise<UsersCollected> {
    const { channelId, remoteId } = ctx;
    const due = await this.repo.dueRetries(channelId, remoteId, 'user', ctx.now, SYNC_RETRIES_PER_PASS);
    const dueIds = new Set(due.map((r) => r.item_key));
    const all = (await this.users.findMany([...new Set([...input.referenced, ...dueIds])])).filter((u) => u.remote_id !== remoteId);
    const ids = all.map((u) => u.id);
    const [rows, parked] = await Promise.all([
      this.shares.findChannelUsers(channelId, remoteId, ids),
      this.repo.heldKeys(channelId, remoteId, 'user', ids, true),
    ]);
    const synced = new Map(rows.map((r) => [r.user_id, r.last_sync_at]));
    const referenced = new Set(input.referenced);
    const found = new Set(ids);
    return {
      referenced: all.filter((u) => referenced.has(u.id)),
      toSend: all.filter((u) => !parked.has(u.id) && (dueIds.has(u.id) || !synced.has(u.id) || u.update_at > synced.get(u.id)!)),
      dropped: [...dueIds].filter((id) => !found.has(id)),
    };
  }

  async send(ctx: PassContext, c: UsersCollected): Promise<UsersOutcome> {
    if (!c.toSend.length) return { accepted: [], refused: [], tooLarge: [] };
    const d = await this.transport.deliver(ctx, {
      kind: 'user',
      items: c.toSend,
      content: (chunk) => ({ users: Object.fromEntries(chunk.map((u) => [u.id, sanitizeUserForSync(u)])) }),
      replyKey: (u) => u.id,
      maxItems: SYNC_BATCH_USERS,
      bytes: (u) => Buffer.byteLength(JSON.stringify(sanitizeUserForSync(u))) + 30,
    });
    ctx.sent.users += d.accepted.length;
    if (d.accepted.length) this.metrics.itemsSent.inc({ remote_id: ctx.remoteId, kind: 'user' }, d.accepted.length);
    return { accepted: d.accepted, refused: d.refused, tooLarge: d.tooLarge };
  }

  async advance(ctx: PassContext, c: UsersCollected, o: UsersOutcome): Promise<void> {
    const { channelId, remoteId, now } = ctx;
    const where = { channelId, remoteId };
    const row = (u: UserRecord) => ({ kind: 'user' as const, item_key: u.id, post_id: '' });
    await this.markSynced(ctx, o.accepted);
    await this.repo.recordRetries(o.refused.map(row), where, { error: `refused by ${ctx.remoteName}`, now, attempt: true, maxAttempts: ctx.maxAttempts });
    await this.repo.recordRetries(o.tooLarge.map(row), where, {
      error: `too large for ${ctx.remoteName} even alone (413)`,
      now,
      attempt: true,
      park: true,
      maxAttempts: ctx.maxAttempts,
    });
    if (o.refused.length) this.metrics.itemErrors.inc({ remote_id: remoteId, kind: 'user' }, o.refused.length);
    await this.repo.recordAccepted(channelId, remoteId, 'user', [...o.accepted.map((u) => u.id), ...c.dropped], now);
  }

  /** The remote holds these profiles as they are now (SharedChannelUsers.last_sync_at). */
  async markSynced(ctx: PassContext, users: UserRecord[]): Promise<void> {
    if (!users.length) return;
    const { channelId, remoteId, now } = ctx;
    const existing = new Map((await this.shares.findChannelUsers(channelId, remoteId, users.map((u) => u.id))).map((r) => [r.user_id, r]));
    await this.shares.upsertChannelUsers(
      users.map(
        (u): SharedChannelUserRow => ({
          id: existing.get(u.id)?.id ?? newId(),
          user_id: u.id,
          channel_id: channelId,
          remote_id: remoteId,
          create_at: existing.get(u.id)?.create_at ?? now,
          last_sync_at: Math.max(u.update_at, now),
          last_picture_sync_at: existing.get(u.id)?.last_picture_sync_at ?? 0,
        }),
      ),
    );
  }
}
