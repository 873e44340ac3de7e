import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { UnrecoverableError } from 'bullmq';
import { newId } from '../../common/ids.js';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { UserDirectory, type UserRecord } from '../auth/user-directory.service.js';
import { ChannelFeed, type SeqCursor, type PostRecord } from '../chat/feed/channel-feed.service.js';
import { UsersProfileService } from '../chat/users/users-profile.service.js';
import { MEMBERSHIP_BATCH, MEMBER_EVENTS_PER_PASS, type MembershipCollection, MembershipService } from '../membership/membership.service.js';
import { RemoteClusterTransportError } from '../remote-cluster/remote-cluster.client.js';
import { RemoteClusterService } from '../remote-cluster/remote-cluster.service.js';
import { sanitizeUserForSync } from '../shared-channel/remote-users.service.js';
import { NO_LONGER_SHARED_EVENT, type NoLongerSharedReport } from '../shared-channel/shared-channel-events.service.js';
import { SharedChannelStore, type SharedChannelRecord, type SharedChannelRemoteRecord, type SharedChannelUserRow } from '../shared-channel/shared-channel-store.service.js';
import { NO_LONGER_SHARED, type SyncMsg, type SyncResponse, TOPIC_SYNC, type WirePost, type WireUser } from '../shared-channel/wire.types.js';
import { AttachmentIncompleteError, AttachmentSender } from '../uploads/attachment-sender.service.js';
import { ProfileImagesService } from '../uploads/profile-images.service.js';
import { possibleMentions } from './mentions.js';
import { permalinkPostIds, toSharedPermalinks } from './permalinks.js';
import {
  isLocalOnlyPostType,
  postRetryBackoffMs,
  SYNC_BATCH_REACTIONS,
  SYNC_BATCH_USER_EVENTS,
  SYNC_BATCH_USERS,
  SYNC_MAX_POSTS_BYTES,
  SYNC_RETRIES_PER_PASS,
} from './sync.constants.js';
import { SyncMetrics } from './sync.metrics.js';
import { SyncRepository } from './sync.repository.js';
import { toWireAck, toWirePost, toWireReaction, toWireStatus } from './sync-wire.js';

export interface SyncPassResult {
  /** More is waiting (a batch was full): run again at once. */
  more: boolean;
  /** The remote is offline: nothing was sent; the backlog flows when it comes back. */
  offline?: boolean;
  sent: { users: number; memberships: number; files: number; posts: number; reactions: number; acks: number; statuses: number; images: number };
}

/** The peer answered FAIL or could not be reached: the job fails and BullMQ retries it with backoff. */
export class SyncSendError extends Error {}

/** The channel is no longer shared with that remote (on either side): stop, never retry. */
export class NoLongerSharedError extends UnrecoverableError {}

const key = (seq: number, k: string): SeqCursor => ({ seq, key: k });

/**
 * One sync pass of one shared channel to one remote (protocol section 5.3, with our cursors): collect what changed
 * since the cursors, send it in Mattermost's order (users, memberships, attachments, posts with their mention
 * transforms, acknowledgements, reactions, statuses, profile images), and advance each cursor only past what the
 * receiver accepted. Rejected posts go to the retry table; they never hold back the rest. Never sends an item back
 * to the remote it came from.
 */
@Injectable()
export class SyncSender {
  private readonly logger = new Logger(SyncSender.name);

  constructor(
    private readonly shares: SharedChannelStore,
    private readonly feed: ChannelFeed,
    private readonly users: UserDirectory,
    private readonly profiles: UsersProfileService,
    private readonly remotes: RemoteClusterService,
    private readonly repo: SyncRepository,
    private readonly metrics: SyncMetrics,
    private readonly membership: MembershipService,
    private readonly attachments: AttachmentSender,
    private readonly images: ProfileImagesService,
    private readonly emitter: EventEmitter2,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async run(channelId: string, remoteId: string): Promise<SyncPassResult> {
    const sent = { users: 0, memberships: 0, files: 0, posts: 0, reactions: 0, acks: 0, statuses: 0, images: 0 };
    const [found, remote] = await Promise.all([this.shares.findRemote(channelId, remoteId), this.remotes.getRemote(remoteId)]);
    let scr = found;
    if (!scr || scr.delete_at || !scr.is_invite_confirmed) return { more: false, sent };
    if (!remote || remote.delete_at) throw new UnrecoverableError(`remote ${remoteId} is gone`);
    if (!this.remotes.isOnline(remote)) return { more: false, offline: true, sent };
    scr = await this.initialiseCursors(scr);

    const batch = this.config.sync.batchPosts;
    const now = Date.now();

    // Everything this pass may send, read at once (independent queries, run in parallel on the pool).
    const [scanned, retries, reactionsScanned, acksScanned, userEvents, share] = await Promise.all([
      // Posts after the cursor, in commit order.
      this.feed.postsAfter(channelId, key(scr.last_post_seq, scr.last_post_seq_id), batch),
      this.repo.dueRetries(channelId, remoteId, now, SYNC_RETRIES_PER_PASS),
      this.feed.reactionsAfter(channelId, key(scr.last_reaction_seq, scr.last_reaction_key), SYNC_BATCH_REACTIONS),
      this.feed.acksAfter(channelId, key(scr.last_ack_seq, scr.last_ack_key), SYNC_BATCH_REACTIONS),
      // User changes (profile, picture, status) of members, from the journal.
      this.feed.userEventsAfter(channelId, scr.last_user_event_seq, SYNC_BATCH_USER_EVENTS),
      this.shares.findShare(channelId),
    ]);
    // Members of direct and group channels are fixed at the invite: their journal events are passed over (the
    // cursor still moves, or the sweep would keep finding them), nothing is sent.
    let memberships: MembershipCollection | null = this.membership.enabled
      ? await this.membership.collect(channelId, remoteId, scr.last_member_event_seq, MEMBER_EVENTS_PER_PASS)
      : null;
    if (memberships && (share?.type === 'D' || share?.type === 'G')) memberships = { ...memberships, changes: [], addedUsers: [] };
    const postCursor = scanned.length ? key(scanned[scanned.length - 1].seq, scanned[scanned.length - 1].id) : key(scr.last_post_seq, scr.last_post_seq_id);
    // Never back to the remote it came from; local-only system posts stay here.
    let posts = scanned.filter((p) => p.remote_id !== remoteId && !isLocalOnlyPostType(p.type));
    posts = await this.withRootsFirst(posts, scr, remoteId);
    // Rejected posts whose retry is due go out again, fresh from the database.
    const retryPosts = retries.length
      ? (await this.feed.postsByIds(retries.map((r) => r.post_id))).filter((p) => !posts.some((q) => q.id === p.id))
      : [];

    // Reactions and acknowledgements only on posts this pass has covered (their post is on the receiver, or
    // came from it); the scan stops at the first one that is not, so the cursor never passes it.
    const scannedIds = new Map(scanned.map((p) => [p.id, p.seq]));
    const unknown = [...new Set([...reactionsScanned, ...acksScanned].map((r) => r.post_id).filter((id) => !scannedIds.has(id)))];
    const postSeq = new Map([...scannedIds, ...(await this.feed.postsByIds(unknown)).map((p) => [p.id, p.seq] as const)]);
    const covered = <T extends { post_id: string }>(rows: T[]): T[] => {
      const out: T[] = [];
      for (const r of rows) {
        const seq = postSeq.get(r.post_id);
        if (seq === undefined || seq > postCursor.seq) break;
        out.push(r);
      }
      return out;
    };
    const reactionRows = covered(reactionsScanned);
    const ackRows = covered(acksScanned);
    const reactions = reactionRows.filter((r) => r.remote_id !== remoteId);
    const acks = ackRows.filter((a) => a.remote_id !== remoteId);

    const statusUserIds = [...new Set(userEvents.filter((e) => e.kind === 'status_changed').map((e) => e.user_id))];
    const allPosts = [...posts, ...retryPosts];
    const mentions = await this.resolveMentions(channelId, share, allPosts);

    // 4. Users to send: everyone the content refers to (mentioned users only when they are channel members), plus
    // changed members; never the remote's own users.
    const referenced = new Set<string>([
      ...posts.map((p) => p.user_id),
      ...retryPosts.map((p) => p.user_id),
      ...reactions.map((r) => r.user_id),
      ...acks.map((a) => a.user_id),
      ...userEvents.map((e) => e.user_id),
      ...mentions.users.map((u) => u.id),
    ]);
    const userRows = (await this.users.findMany([...referenced])).filter((u) => u.remote_id !== remoteId);
    const usersToSend = await this.usersNeedingSync(channelId, remoteId, userRows);
    const statusOwners = new Map((await this.users.findMany(statusUserIds)).map((u) => [u.id, u]));
    const ownStatuses = (await this.profiles.statusesOf(statusUserIds.filter((id) => statusOwners.has(id) && statusOwners.get(id)!.remote_id !== remoteId)))
      .filter((s) => s.update_at > 0);

    // Send, in Mattermost's order; each kind's cursor moves only when its message was accepted.
    for (let i = 0; i < usersToSend.length; i += SYNC_BATCH_USERS) {
      const chunk = usersToSend.slice(i, i + SYNC_BATCH_USERS);
      const users: Record<string, WireUser> = Object.fromEntries(chunk.map((u) => [u.id, sanitizeUserForSync(u)]));
      const reply = await this.send(channelId, remoteId, { users });
      await this.markUsersSynced(channelId, remoteId, chunk, reply?.users_syncd ?? chunk.map((u) => u.id), now);
      sent.users += chunk.length;
    }

    if (memberships) {
      sent.memberships = await this.sendMemberships(channelId, remoteId, memberships, now);
      if (memberships.scanned) {
        await this.shares.saveCursors(scr.id, {
          last_member_event_seq: memberships.lastSeq,
          last_members_sync_at: Math.max(scr.last_members_sync_at, memberships.lastAt),
        });
      }
    }

    // Files before the posts that name them, so the receiver attaches them as the posts arrive.
    if (allPosts.some((p) => p.file_ids?.length)) {
      const files = await this.transfer(remoteId, () => this.attachments.sendForPosts(remoteId, allPosts));
      sent.files = files.sent;
      if (files.refused) this.metrics.itemErrors.inc({ remote_id: remoteId, kind: 'attachment' }, files.refused);
    }

    if (allPosts.length) {
      const wirePosts = await this.toWirePosts(channelId, allPosts);
      // Long posts split the batch over several messages of at most SYNC_MAX_POSTS_BYTES each; every message is
      // applied idempotently and the cursor moves only after the last one, so a failure half way is re-sent whole.
      const rejected = new Set<string>();
      for (const chunk of chunkBySize(wirePosts, SYNC_MAX_POSTS_BYTES)) {
        const reply = await this.send(channelId, remoteId, {
          posts: chunk,
          ...(Object.keys(mentions.transforms).length ? { mention_transforms: mentions.transforms } : {}),
        });
        for (const id of reply?.post_errors ?? []) rejected.add(id);
      }
      for (const post of allPosts) {
        if (rejected.has(post.id)) {
          const row = await this.repo.recordRejection(post, remoteId, `rejected by ${remote.name}`, now, postRetryBackoffMs, this.config.sync.postMaxAttempts);
          this.metrics.itemErrors.inc({ remote_id: remoteId, kind: row.parked ? 'post_parked' : 'post' });
        } else if (retries.some((r) => r.post_id === post.id)) {
          await this.repo.deleteRetry(post.id, remoteId);
        }
      }
      sent.posts = allPosts.length - rejected.size;
      this.metrics.itemsSent.inc({ remote_id: remoteId, kind: 'post' }, sent.posts);
    }
    if (scanned.length) await this.savePostCursor(scr, postCursor, scanned);

    if (acks.length) {
      await this.send(channelId, remoteId, { acknowledgements: acks.map(toWireAck) });
      sent.acks = acks.length;
    }
    if (ackRows.length) {
      const last = ackRows[ackRows.length - 1];
      await this.shares.saveCursors(scr.id, { last_ack_seq: last.seq, last_ack_key: last.key, update_at: Date.now() });
    }

    if (reactions.length) {
      await this.send(channelId, remoteId, { reactions: reactions.map(toWireReaction) });
      sent.reactions = reactions.length;
    }
    if (reactionRows.length) {
      const last = reactionRows[reactionRows.length - 1];
      await this.shares.saveCursors(scr.id, { last_reaction_seq: last.seq, last_reaction_key: last.key, update_at: Date.now() });
    }

    if (ownStatuses.length) {
      await this.send(channelId, remoteId, { statuses: ownStatuses.map(toWireStatus) });
      sent.statuses = ownStatuses.length;
    }
    if (userEvents.length) {
      await this.shares.saveCursors(scr.id, { last_user_event_seq: userEvents[userEvents.length - 1].seq });
    }

    // Pictures last, as Mattermost does: of everyone this pass sent or referenced whose picture changed.
    const pictured = new Map([...userRows, ...(memberships?.addedUsers ?? [])].map((u) => [u.id, u]));
    sent.images = await this.transfer(remoteId, () => this.images.sendChanged(channelId, remoteId, [...pictured.values()]));

    this.metrics.syncs.inc({ remote_id: remoteId, result: 'ok' });
    const more =
      scanned.length >= batch ||
      reactionRows.length >= SYNC_BATCH_REACTIONS ||
      ackRows.length >= SYNC_BATCH_REACTIONS ||
      userEvents.length >= SYNC_BATCH_USER_EVENTS ||
      retries.length >= SYNC_RETRIES_PER_PASS ||
      (memberships?.scanned ?? 0) >= MEMBER_EVENTS_PER_PASS;
    return { more, sent };
  }

  /** Membership changes (with the added users' profiles) in batches of MEMBERSHIP_BATCH; errors are logged. */
  private async sendMemberships(channelId: string, remoteId: string, collected: MembershipCollection, now: number): Promise<number> {
    const added = new Map(collected.addedUsers.map((u) => [u.id, u]));
    let count = 0;
    for (let i = 0; i < collected.changes.length; i += MEMBERSHIP_BATCH) {
      const chunk = collected.changes.slice(i, i + MEMBERSHIP_BATCH);
      const profiles = chunk.flatMap((c) => (c.is_add && added.has(c.user_id) ? [added.get(c.user_id)!] : []));
      const reply = await this.send(channelId, remoteId, {
        membership_changes: chunk,
        ...(profiles.length ? { users: Object.fromEntries(profiles.map((u) => [u.id, sanitizeUserForSync(u)])) } : {}),
      });
      if (profiles.length) await this.markUsersSynced(channelId, remoteId, profiles, reply?.users_syncd ?? profiles.map((u) => u.id), now);
      const refused = reply?.membership_errors?.length ?? 0;
      if (refused) {
        this.metrics.itemErrors.inc({ remote_id: remoteId, kind: 'membership' }, refused);
        this.logger.warn({ channel_id: channelId, remote_id: remoteId, users: reply!.membership_errors }, 'remote refused membership changes');
      }
      count += chunk.length - refused;
    }
    if (count) this.metrics.itemsSent.inc({ remote_id: remoteId, kind: 'membership' }, count);
    return count;
  }

  /**
   * Section 9.2, sender side: @mentions in the posts that name users of the channel's team (or of the channel, for
   * direct and group messages) become mention_transforms; the message text is not changed.
   */
  private async resolveMentions(
    channelId: string,
    share: SharedChannelRecord | null,
    posts: PostRecord[],
  ): Promise<{ transforms: Record<string, string>; users: UserRecord[] }> {
    const lists = posts.filter((p) => !p.delete_at).flatMap((p) => possibleMentions(p.message));
    if (!lists.length) return { transforms: {}, users: [] };
    const found = new Map((await this.users.findByUsernames([...new Set(lists.flat())])).map((u) => [u.username, u]));
    const ids = [...new Set([...found.values()].map((u) => u.id))];
    const [inChannel, inTeam] = await Promise.all([
      this.feed.channelMemberIds(channelId, ids),
      share?.team_id ? this.feed.teamMemberIds(share.team_id, ids) : Promise.resolve([]),
    ]);
    const members = new Set(inChannel);
    const eligible = new Set([...inChannel, ...inTeam]);
    const transforms: Record<string, string> = {};
    const users = new Map<string, UserRecord>();
    for (const candidates of lists) {
      const mention = candidates.find((c) => found.has(c) && eligible.has(found.get(c)!.id));
      if (!mention) continue;
      const user = found.get(mention)!;
      transforms[mention] = user.id;
      // Only members of the shared channel travel as profiles. A Mattermost receiver adds every user of a sync
      // message to its team and channel (section 12.12): a mentioned non-member would be joined there. Without
      // the profile the receiver still renders the mention, as @name:<this server's connection name>.
      if (members.has(user.id)) users.set(user.id, user);
    }
    return { transforms, users: [...users.values()] };
  }

  /** The wire posts, with permalinks to posts of this channel pointing at their shared form (section 9.1). */
  private async toWirePosts(channelId: string, posts: PostRecord[]): Promise<WirePost[]> {
    const linked = [...new Set(posts.flatMap((p) => permalinkPostIds(p.message)))];
    const sameChannel = new Set(linked.length ? (await this.feed.postsByIds(linked)).filter((p) => p.channel_id === channelId).map((p) => p.id) : []);
    return posts.map((p) => {
      const wire = toWirePost(p);
      return sameChannel.size ? { ...wire, message: toSharedPermalinks(wire.message, sameChannel) } : wire;
    });
  }

  /** File and image transfers: an unfinished transfer fails the pass (BullMQ retries it, and it resumes). */
  private async transfer<T>(remoteId: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof RemoteClusterTransportError || err instanceof AttachmentIncompleteError)) throw err;
      this.metrics.syncs.inc({ remote_id: remoteId, result: 'transport_error' });
      throw new SyncSendError(`transfer to ${remoteId} failed: ${err.message}`);
    }
  }

  /**
   * Seq cursors start where Mattermost's timestamp cursors say the share began (invite time): history before the
   * invite is not sent, as Mattermost does; everything changed since is.
   */
  private async initialiseCursors(scr: SharedChannelRemoteRecord): Promise<SharedChannelRemoteRecord> {
    if (scr.last_post_seq || scr.last_reaction_seq || scr.last_ack_seq || scr.last_user_event_seq) return scr;
    const since = scr.last_post_update_at || scr.create_at;
    const fields = {
      last_post_seq: await this.feed.seqBefore('posts', scr.channel_id, since),
      last_reaction_seq: await this.feed.seqBefore('reactions', scr.channel_id, since),
      last_ack_seq: await this.feed.seqBefore('post_acknowledgements', scr.channel_id, since),
      last_user_event_seq: await this.feed.lastUserJournalSeq(),
    };
    // A channel with no change at all still needs a non-zero marker so this runs once.
    if (!fields.last_post_seq && !fields.last_reaction_seq && !fields.last_ack_seq && !fields.last_user_event_seq) return scr;
    await this.shares.saveCursors(scr.id, fields);
    return { ...scr, ...fields };
  }

  /** Replies need their root on the receiver first: a root not yet sent travels just before its first reply. */
  private async withRootsFirst(posts: PostRecord[], scr: SharedChannelRemoteRecord, remoteId: string): Promise<PostRecord[]> {
    const inBatch = new Set(posts.map((p) => p.id));
    const missing = [...new Set(posts.map((p) => p.root_id).filter((r) => r && !inBatch.has(r)))];
    if (!missing.length) return posts;
    const roots = new Map(
      (await this.feed.postsByIds(missing))
        .filter((r) => r.remote_id !== remoteId && (r.seq > scr.last_post_seq || (r.seq === scr.last_post_seq && r.id > scr.last_post_seq_id)))
        .map((r) => [r.id, r]),
    );
    const out: PostRecord[] = [];
    for (const p of posts) {
      const root = p.root_id ? roots.get(p.root_id) : undefined;
      if (root && !inBatch.has(root.id)) {
        out.push(root);
        inBatch.add(root.id);
      }
      out.push(p);
    }
    return out;
  }

  private async usersNeedingSync(channelId: string, remoteId: string, users: UserRecord[]): Promise<UserRecord[]> {
    const rows = new Map((await this.shares.findChannelUsers(channelId, remoteId, users.map((u) => u.id))).map((r) => [r.user_id, r]));
    return users.filter((u) => {
      const row = rows.get(u.id);
      return !row || u.update_at > row.last_sync_at;
    });
  }

  private async markUsersSynced(channelId: string, remoteId: string, users: UserRecord[], syncd: string[], now: number): Promise<void> {
    const ok = new Set(syncd);
    const existing = new Map((await this.shares.findChannelUsers(channelId, remoteId, users.map((u) => u.id))).map((r) => [r.user_id, r]));
    await this.shares.upsertChannelUsers(
      users
        .filter((u) => ok.has(u.id))
        .map(
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

  private async savePostCursor(scr: SharedChannelRemoteRecord, cursor: SeqCursor, scanned: PostRecord[]): Promise<void> {
    // Mattermost's timestamp cursor fields are kept meaningful for the API: the newest create and update covered.
    const newestCreate = scanned.reduce((a, p) => (p.create_at > a.create_at || (p.create_at === a.create_at && p.id > a.id) ? p : a), scanned[0]);
    const newestUpdate = scanned.reduce((a, p) => (p.update_at > a.update_at || (p.update_at === a.update_at && p.id > a.id) ? p : a), scanned[0]);
    await this.shares.saveCursors(scr.id, {
      last_post_seq: cursor.seq,
      last_post_seq_id: cursor.key,
      last_post_create_at: Math.max(scr.last_post_create_at, newestCreate.create_at),
      last_post_create_id: newestCreate.create_at >= scr.last_post_create_at ? newestCreate.id : scr.last_post_create_id,
      last_post_update_at: Math.max(scr.last_post_update_at, newestUpdate.update_at),
      last_post_update_id: newestUpdate.update_at >= scr.last_post_update_at ? newestUpdate.id : scr.last_post_update_id,
      update_at: Date.now(),
    });
  }

  /** One sharedchannel_sync message; FAIL or a transport error throws (the job retries), "no longer shared" stops. */
  private async send(channelId: string, remoteId: string, content: Omit<SyncMsg, 'id' | 'channel_id'>): Promise<SyncResponse | null> {
    const msg: SyncMsg = { id: newId(), channel_id: channelId, ...content };
    let response;
    try {
      response = await this.remotes.sendMsg(remoteId, TOPIC_SYNC, msg);
    } catch (err) {
      this.metrics.syncs.inc({ remote_id: remoteId, result: 'transport_error' });
      throw new SyncSendError(`sync to ${remoteId} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (response.status !== 'OK') {
      if (response.err.includes(NO_LONGER_SHARED)) {
        this.logger.warn({ channel_id: channelId, remote_id: remoteId }, 'peer says the channel is no longer shared');
        const report: NoLongerSharedReport = { channel_id: channelId, remote_id: remoteId };
        await this.emitter.emitAsync(NO_LONGER_SHARED_EVENT, report);
        throw new NoLongerSharedError(response.err);
      }
      this.metrics.syncs.inc({ remote_id: remoteId, result: 'fail' });
      throw new SyncSendError(`remote ${remoteId} answered FAIL: ${response.err}`);
    }
    return (response.payload as SyncResponse | null) ?? null;
  }
}

/** Consecutive slices of `items` whose JSON stays under `maxBytes` (an item larger than that travels alone). */
export function chunkBySize<T>(items: T[], maxBytes: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    const bytes = Buffer.byteLength(JSON.stringify(item));
    if (current.length && size + bytes > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += bytes;
  }
  if (current.length) chunks.push(current);
  return chunks;
}
