import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { newId } from '../../../common/ids.js';
import { APP_CONFIG, type AppConfig } from '../../../config/app-config.js';
import { REDIS_CLIENT } from '../../../redis/redis.module.js';
import { acquireLease } from '../../../redis/redis-lease.js';
import { UserDirectory, type UserRecord } from '../../auth/user-directory.service.js';
import { ChannelsService } from '../../chat/channels/channels.service.js';
import { ChannelFeed, type PostRecord } from '../../chat/feed/channel-feed.service.js';
import { ChannelImportService } from '../../chat/feed/channel-import.service.js';
import { MembershipService } from '../../membership/membership.service.js';
import type { RemoteClusterJson } from '../../remote-cluster/remote-cluster.mapper.js';
import { RemoteClusterService } from '../../remote-cluster/remote-cluster.service.js';
import { TopicRegistry } from '../../remote-cluster/topic-registry.service.js';
import { sanitizeUserForSync } from '../../shared-channel/remote-users.service.js';
import { SharedChannelStore, type SharedChannelRecord, type SharedChannelRemoteRecord } from '../../shared-channel/shared-channel-store.service.js';
import { NO_LONGER_SHARED, type SyncResponse, type WireAck, type WireReaction, type WireUser } from '../../shared-channel/wire.types.js';
import { refusedKeys } from '../peer-replies.js';
import { isLocalOnlyPostType, SYNC_MAX_MESSAGE_BYTES } from '../sync.constants.js';
import { SyncMetrics } from '../sync.metrics.js';
import { SyncReceiver } from '../sync-receiver.service.js';
import { SyncRepository } from '../sync.repository.js';
import type { SyncContent } from '../sync-transport.service.js';
import { chunkItems } from '../sync-transport.service.js';
import { toWireAck, toWireReaction } from '../sync-wire.js';
import { historyPosition } from '../backfill/history-coverage.js';
import { isSharedWith, PostStream, rootsFirst } from '../streams/post.stream.js';
import type { ConsistencyCounts, ConsistencyResult } from './channel-consistency.entity.js';
import {
  diffItems,
  differingPrefixes,
  fromWireBuckets,
  intersect,
  MAX_PREFIX,
  sameBucket,
  shouldList,
  swapPostAndUser,
  toWireBuckets,
  type WireBucket,
} from './consistency-diff.js';
import { type DigestItem, DIGEST_KINDS, type DigestKind, type DigestScope, ConsistencyRepository, type Side } from './consistency.repository.js';

/**
 * Our own topic (Mattermost has no such thing): a Mattermost peer answers it, like every topic it does not know,
 * `OK` with a null payload, which is how such a peer is recognised and then left out of consistency checks.
 */
export const TOPIC_CONSISTENCY = 'mmfed_sharedchannel_consistency';
export const CONSISTENCY_VERSION = 1;

/** A reply of at most about this many bytes (the sender's client takes 1 MiB). */
const FETCH_REPLY_BYTES = 768 * 1024;
/** Most keys fetched or item prefixes asked for in one message. */
const MAX_KEYS_PER_MESSAGE = 500;
const MAX_PREFIXES_PER_REQUEST = 4096;
/** A check holds its pair for this long (renewed while it runs): a check and a trigger never overlap. */
const CHECK_LEASE_MS = 60_000;

type Op =
  | { op: 'hello' }
  | { op: 'summary'; channel_id: string }
  | { op: 'buckets'; channel_id: string; want: Array<{ kind: DigestKind; side: Side; length: number; within: string[] | null }> }
  | { op: 'items'; channel_id: string; want: Array<{ kind: DigestKind; side: Side; prefixes: string[] }> }
  | { op: 'fetch'; channel_id: string; kind: DigestKind; keys: string[] }
  | { op: 'repair'; channel_id: string; content: SyncContent; remove_posts: string[] };

interface SummaryReply {
  v: number;
  members: boolean;
  sets: Record<string, WireBucket>;
}

export interface ConsistencyReport {
  channel_id: string;
  remote_id: string;
  result: ConsistencyResult;
  error: string;
  divergent: number;
  repaired: number;
  counts: ConsistencyCounts;
  digest_bytes: number;
  repair_bytes: number;
  duration_ms: number;
}

/** One pair of halves to compare: what this server holds on `mySide` against what the peer holds on the other. */
interface Task {
  kind: DigestKind;
  mySide: Side;
  theirSide: Side;
  length: number;
  differing: string[];
  stage: 'narrow' | 'items' | 'done';
}

const KIND_OF_RETRY = { posts: 'post', reactions: 'reaction', acks: 'acknowledgement', members: 'membership' } as const;

class CheckError extends Error {}

/**
 * What of the channel the pair compares: posts since the share began, and history a finished backfill handed over.
 * While a backfill runs, the history the remote holds is neither all nor none of it: no check runs then.
 */
function digestScope(channelId: string, peerId: string, scr: SharedChannelRemoteRecord): DigestScope {
  if (scr.backfill_state === 'running') throw new CheckError('a history backfill of this channel to this remote is running: checked when it is done');
  return { channelId, peerId, firstPostSeq: scr.first_post_seq, historySince: scr.backfill_state === 'done' ? scr.backfill_since : null };
}

/**
 * Ours, for the remote to hold: since the share began, history a backfill handed over, or a root from before the
 * share with a reply since (`repliedRoots`: it went with its reply).
 */
function ourShared(p: PostRecord, channelId: string, scr: SharedChannelRemoteRecord, repliedRoots: Set<string>): boolean {
  if (p.channel_id !== channelId || p.remote_id === scr.remote_id || isLocalOnlyPostType(p.type)) return false;
  return p.seq > scr.first_post_seq || historyPosition(p, scr) === 'covered' || repliedRoots.has(p.id);
}

/**
 * Anti-entropy between servers of this project. A check of one shared channel with one remote compares the four
 * kinds of state (posts with update_at and delete_at, active reactions, acknowledgements, members of either server)
 * in both directions: what this server owns and the remote should hold, and what the remote owns and this server
 * holds. Digests are XORs of 64-bit hashes per key prefix, so two identical channels of a million posts agree in one
 * round trip of a few hundred bytes; a difference narrows, prefix by prefix, to the few keys that differ. Items still
 * in flight (after the owner's sync cursor, or held in its retry table) are not divergent and are left alone.
 * Whatever differs is repaired from its owner's side, which is authoritative (the model the sync engine already
 * follows: only the owner writes an item): pushed to the remote, fetched from it, or removed where its owner does not
 * have it. Repairs are applied as the owner's state even where last-writer-wins would keep the other.
 */
@Injectable()
export class ConsistencyService implements OnModuleInit {
  private readonly logger = new Logger(ConsistencyService.name);

  constructor(
    private readonly topics: TopicRegistry,
    private readonly repo: ConsistencyRepository,
    private readonly syncRepo: SyncRepository,
    private readonly shares: SharedChannelStore,
    private readonly remotes: RemoteClusterService,
    private readonly feed: ChannelFeed,
    private readonly users: UserDirectory,
    private readonly channels: ChannelsService,
    private readonly importer: ChannelImportService,
    private readonly membership: MembershipService,
    private readonly receiver: SyncReceiver,
    private readonly posts: PostStream,
    private readonly metrics: SyncMetrics,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.topics.register(TOPIC_CONSISTENCY, (remote, msg) => this.answer(remote, msg.payload));
  }

  // ---- requester ------------------------------------------------------------------------------------------------

  /** Asks whether the remote speaks this topic, and records what kind of server it is. */
  async probe(remoteId: string): Promise<'mmfed' | 'mattermost'> {
    const reply = await this.ask(remoteId, { op: 'hello' }, { digest: 0, repair: 0 });
    const kind = reply ? 'mmfed' : 'mattermost';
    await this.syncRepo.savePeerKind(remoteId, kind, reply ? Number((reply as { v?: unknown }).v) || 0 : 0, Date.now());
    return kind;
  }

  /**
   * One check of `channelId` with `remoteId`, now, repairing what differs; recorded for the consistency endpoint and
   * counted in the metrics. null when another check of the pair is running (on any replica).
   */
  async check(channelId: string, remoteId: string): Promise<ConsistencyReport | null> {
    const lease = await acquireLease(this.redis, `${this.config.redis.queuePrefix}:consistency:${remoteId}:${channelId}`, CHECK_LEASE_MS);
    if (!lease) return null;
    const started = Date.now();
    const bytes = { digest: 0, repair: 0 };
    const counts: ConsistencyCounts = {};
    let result: ConsistencyResult;
    let error = '';
    try {
      result = await this.run(channelId, remoteId, bytes, counts);
    } catch (err) {
      result = 'error';
      error = err instanceof Error ? err.message : String(err);
      this.logger.warn({ channel_id: channelId, remote_id: remoteId, err: error }, 'consistency check failed');
    } finally {
      await lease.release();
    }
    const divergent = Object.values(counts).reduce((n, c) => n + c.divergent, 0);
    const repaired = Object.values(counts).reduce((n, c) => n + c.repaired, 0);
    const report: ConsistencyReport = {
      channel_id: channelId,
      remote_id: remoteId,
      result,
      error,
      divergent,
      repaired,
      counts,
      digest_bytes: bytes.digest,
      repair_bytes: bytes.repair,
      duration_ms: Date.now() - started,
    };
    const interval = this.config.sync.consistencyIntervalMs;
    await this.repo.saveResult(channelId, remoteId, {
      at: started,
      result,
      error,
      divergent,
      repaired,
      counts,
      digestBytes: bytes.digest,
      repairBytes: bytes.repair,
      durationMs: report.duration_ms,
      nextAt: interval > 0 ? started + interval : 0,
    });
    this.metrics.consistencyChecks.inc({ remote_id: remoteId, result });
    for (const [kind, c] of Object.entries(counts)) {
      if (c.divergent) this.metrics.consistencyDivergent.inc({ remote_id: remoteId, kind }, c.divergent);
      if (c.repaired) this.metrics.consistencyRepaired.inc({ remote_id: remoteId, kind }, c.repaired);
    }
    this.metrics.consistencyBytes.inc({ remote_id: remoteId, phase: 'digest' }, bytes.digest);
    if (bytes.repair) this.metrics.consistencyBytes.inc({ remote_id: remoteId, phase: 'repair' }, bytes.repair);
    if (divergent) this.logger.log({ channel_id: channelId, remote_id: remoteId, counts, result }, 'consistency check found differences');
    return report;
  }

  private async run(channelId: string, remoteId: string, bytes: { digest: number; repair: number }, counts: ConsistencyCounts): Promise<ConsistencyResult> {
    const [share, scr, remote] = await Promise.all([this.shares.findShare(channelId), this.shares.findRemote(channelId, remoteId), this.remotes.getRemote(remoteId)]);
    if (!share || !scr || scr.delete_at || !scr.is_invite_confirmed || !remote) throw new CheckError('the channel is not shared with this remote');
    if (!this.remotes.isOnline(remote)) throw new CheckError('the remote is offline');
    const scope = digestScope(channelId, remoteId, scr);

    const summary = (await this.ask(remoteId, { op: 'summary', channel_id: channelId }, bytes)) as SummaryReply | null;
    if (!summary) {
      await this.syncRepo.savePeerKind(remoteId, 'mattermost', 0, Date.now());
      return 'not_supported';
    }
    await this.syncRepo.savePeerKind(remoteId, 'mmfed', Number(summary.v) || 0, Date.now());
    const kinds = DIGEST_KINDS.filter((k) => k !== 'members' || (summary.members === true && this.membersCompared(share)));

    // 1. Whole-kind digests; 2. narrow the differing ones prefix by prefix; 3. list the items under what differs.
    const pairs = kinds.flatMap((kind) => (
      [['mine', 'yours'], ['yours', 'mine']] as const
    ).map(([mySide, theirSide]) => ({ kind, mySide, theirSide })));
    const mineAll = await Promise.all(pairs.map((p) => this.repo.buckets(scope, p.kind, p.mySide, 0, null)));
    const tasks: Task[] = [];
    for (const [i, p] of pairs.entries()) {
      const theirs = fromWireBuckets({ '': summary.sets?.[`${p.kind}.${p.theirSide}`] }).get('');
      if (!sameBucket(mineAll[i].get(''), theirs)) tasks.push({ ...p, length: 0, differing: [''], stage: 'narrow' });
    }
    while (tasks.some((t) => t.stage === 'narrow')) {
      const narrowing = tasks.filter((t) => t.stage === 'narrow');
      const want = narrowing.map((t) => ({ kind: t.kind, side: t.theirSide, length: t.length + 1, within: t.length === 0 ? null : t.differing }));
      const reply = (await this.ask(remoteId, { op: 'buckets', channel_id: channelId, want }, bytes)) as { buckets?: unknown[] } | null;
      if (!reply || !Array.isArray(reply.buckets)) throw new CheckError('the remote answered buckets without them');
      for (const [i, t] of narrowing.entries()) {
        const theirs = fromWireBuckets(reply.buckets[i]);
        const mine = await this.repo.buckets(scope, t.kind, t.mySide, t.length + 1, want[i].within);
        t.length++;
        t.differing = differingPrefixes(mine, theirs);
        if (!t.differing.length) t.stage = 'done';
        else if (shouldList(t.differing, mine, theirs, t.length) || t.differing.length > MAX_PREFIXES_PER_REQUEST) t.stage = 'items';
      }
    }
    const listing = tasks.filter((t) => t.stage === 'items');
    if (!listing.length) return 'consistent';

    // Our items before theirs (a removal on our side must be of something the owner had before it listed its own),
    // and again after (what was delivered to us meanwhile is no difference).
    const before = await Promise.all(listing.map((t) => this.repo.items(scope, t.kind, t.mySide, t.differing)));
    const reply = (await this.ask(
      remoteId,
      { op: 'items', channel_id: channelId, want: listing.map((t) => ({ kind: t.kind, side: t.theirSide, prefixes: t.differing })) },
      bytes,
    )) as { items?: Array<{ entries?: Array<[string, string]>; pending?: string[] }> } | null;
    if (!reply || !Array.isArray(reply.items)) throw new CheckError('the remote answered items without them');
    const after = await Promise.all(listing.map((t) => this.repo.items(scope, t.kind, t.mySide, t.differing)));

    const push = emptyKeys();
    const removeThere = emptyKeys();
    const pull = emptyKeys();
    const removeHere = emptyKeys();
    for (const [i, t] of listing.entries()) {
      const theirs: DigestItem[] = (reply.items[i]?.entries ?? []).map(([key, version]) => ({ key, version }));
      if (t.mySide === 'mine') {
        // Read after both listings: anything written since our cursor counts as in flight.
        const pending = await this.pendingHere(scr, t.kind, t.differing);
        const d0 = diffItems(before[i], pending, theirs);
        const d1 = diffItems(after[i], pending, theirs);
        push[t.kind].push(...intersect(d0.send, d1.send));
        removeThere[t.kind].push(...d1.remove);
      } else {
        const theirPending = new Set(reply.items[i]?.pending ?? []);
        const d0 = diffItems(theirs, theirPending, before[i]);
        const d1 = diffItems(theirs, theirPending, after[i]);
        pull[t.kind].push(...d1.send);
        removeHere[t.kind].push(...intersect(d0.remove, d1.remove));
      }
    }
    for (const kind of DIGEST_KINDS) {
      const divergent = push[kind].length + removeThere[kind].length + pull[kind].length + removeHere[kind].length;
      if (divergent) counts[kind] = { divergent, repaired: 0 };
    }
    if (!Object.keys(counts).length) return 'consistent';

    const peer = remote;
    const repaired = emptyCounts();
    await this.pushRepairs(share, scr, push, removeThere, repaired, bytes);
    await this.pullRepairs(share, peer, pull, removeHere, repaired, bytes);
    let complete = true;
    for (const [kind, c] of Object.entries(counts)) {
      c.repaired = repaired[kind as DigestKind];
      if (c.repaired < c.divergent) complete = false;
    }
    return complete ? 'repaired' : 'divergent';
  }

  private membersCompared(share: SharedChannelRecord): boolean {
    return this.membership.enabled && (share.type === 'O' || share.type === 'P');
  }

  /** Keys of ours under `prefixes` the sync engine has not delivered to the remote yet (after its cursor, or held). */
  private async pendingHere(scr: SharedChannelRemoteRecord, kind: DigestKind, prefixes: string[]): Promise<Set<string>> {
    const cursor = {
      posts: { seq: scr.last_post_seq, key: scr.last_post_seq_id },
      reactions: { seq: scr.last_reaction_seq, key: scr.last_reaction_key },
      acks: { seq: scr.last_ack_seq, key: scr.last_ack_key },
      members: { seq: scr.last_member_event_seq, key: '' },
    }[kind];
    const [recent, held] = await Promise.all([
      this.repo.recentKeys(scr.channel_id, kind, prefixes, cursor),
      this.repo.heldRetryKeys(scr.channel_id, scr.remote_id, KIND_OF_RETRY[kind]),
    ]);
    const heldKeys = kind === 'reactions' || kind === 'acks' ? held.map(swapPostAndUser) : held;
    return new Set([...recent, ...heldKeys]);
  }

  /** What we own and the remote lacks or holds otherwise goes over; what it holds as ours and we do not have, goes. */
  private async pushRepairs(
    share: SharedChannelRecord,
    scr: SharedChannelRemoteRecord,
    push: Record<DigestKind, string[]>,
    remove: Record<DigestKind, string[]>,
    repaired: Record<DigestKind, number>,
    bytes: { digest: number; repair: number },
  ): Promise<void> {
    const channelId = scr.channel_id;
    const remoteId = scr.remote_id;
    const now = Date.now();
    const postKeys = [...push.posts, ...remove.posts];
    const repliedRoots = await this.repo.repliedRoots(channelId, scr.first_post_seq, postKeys);
    const mine = (p: PostRecord | undefined): p is PostRecord => !!p && ourShared(p, channelId, scr, repliedRoots);

    // Posts: ours as they are now; those we do not have (or no longer share) are removed there.
    if (postKeys.length) {
      const rows = new Map((await this.feed.postsByIds(postKeys)).map((p) => [p.id, p]));
      const send = rootsFirst(postKeys.map((k) => rows.get(k)).filter(mine));
      const gone = postKeys.filter((k) => !mine(rows.get(k)));
      const wire = await this.posts.toWirePosts(channelId, send);
      const authors = await this.profilesFor(send.map((p) => p.user_id), remoteId);
      for (const chunk of chunkItems(send, MAX_KEYS_PER_MESSAGE, SYNC_MAX_MESSAGE_BYTES, (p) => Buffer.byteLength(JSON.stringify(wire.get(p.id))))) {
        const res = await this.repairThere(scr, { users: pick(authors, chunk.map((p) => p.user_id)), posts: chunk.map((p) => wire.get(p.id)!) }, [], bytes);
        const refused = refusedKeys('post', chunk.map((p) => p.id), res.response);
        repaired.posts += chunk.filter((p) => !refused.has(p.id)).length;
      }
      if (gone.length) repaired.posts += (await this.repairThere(scr, {}, gone, bytes)).removed.length;
    }

    // Reactions and acknowledgements: ours as they are now, or a removal (the remote holds as ours what we do not).
    for (const kind of ['reactions', 'acks'] as const) {
      const keys = [...push[kind], ...remove[kind]];
      if (!keys.length) continue;
      const itemKeys = keys.map(swapPostAndUser);
      const rows =
        kind === 'reactions'
          ? new Map((await this.feed.reactionsByKeys(channelId, itemKeys)).map((r) => [r.key, r]))
          : new Map((await this.feed.acksByKeys(channelId, itemKeys)).map((a) => [a.key, a]));
      const postRows = new Map((await this.feed.postsByIds([...new Set(keys.map((k) => k.split(':')[0]))])).map((p) => [p.id, p]));
      const wire: Array<WireReaction | WireAck> = [];
      const users: string[] = [];
      for (const itemKey of itemKeys) {
        const row = rows.get(itemKey);
        const [userId, postId, emoji] = itemKey.split(':');
        const post = postRows.get(postId);
        if (row && row.remote_id === remoteId) continue;
        const live = row && (kind === 'reactions' ? (row as { delete_at: number }).delete_at === 0 : (row as { acknowledged_at: number }).acknowledged_at > 0);
        const shared = post && isSharedWith(post, scr);
        users.push(userId);
        if (kind === 'reactions') {
          const r = row as Parameters<typeof toWireReaction>[0] | undefined;
          wire.push(
            live && shared
              ? toWireReaction(r!)
              : { user_id: userId, post_id: postId, emoji_name: emoji, create_at: r?.create_at ?? now, update_at: now, delete_at: now, remote_id: null, channel_id: channelId },
          );
        } else {
          const a = row as Parameters<typeof toWireAck>[0] | undefined;
          wire.push(live && shared ? toWireAck(a!) : { user_id: userId, post_id: postId, acknowledged_at: 0, channel_id: channelId });
        }
      }
      const profiles = await this.profilesFor(users, remoteId);
      for (const chunk of chunkItems(wire, MAX_KEYS_PER_MESSAGE, SYNC_MAX_MESSAGE_BYTES, (w) => Buffer.byteLength(JSON.stringify(w)))) {
        const content: SyncContent =
          kind === 'reactions' ? { reactions: chunk as WireReaction[] } : { acknowledgements: chunk as WireAck[] };
        const res = await this.repairThere(scr, { users: pick(profiles, chunk.map((w) => w.user_id)), ...content }, [], bytes);
        const refused = refusedKeys(kind === 'reactions' ? 'reaction' : 'acknowledgement', chunk.map((w) => w.post_id), res.response);
        repaired[kind] += chunk.filter((w) => !refused.has(w.post_id)).length;
      }
    }

    // Members: our own users, in or out as they are now.
    const memberKeys = [...push.members, ...remove.members];
    if (memberKeys.length && this.membersCompared(share)) {
      const [inChannel, owned] = await Promise.all([this.feed.channelMemberIds(channelId, memberKeys), this.users.findMany(memberKeys)]);
      const members = new Set(inChannel);
      const local = owned.filter((u) => !u.remote_id);
      const changes = local.map((u) => ({ channel_id: channelId, user_id: u.id, is_add: members.has(u.id), remote_id: '', change_time: now }));
      const profiles = new Map(local.filter((u) => members.has(u.id)).map((u) => [u.id, sanitizeUserForSync(u)]));
      for (let i = 0; i < changes.length; i += 100) {
        const chunk = changes.slice(i, i + 100);
        const res = await this.repairThere(scr, { users: pick(profiles, chunk.map((c) => c.user_id)), membership_changes: chunk }, [], bytes);
        const refused = refusedKeys('membership', chunk.map((c) => c.user_id), res.response);
        repaired.members += chunk.filter((c) => !refused.has(c.user_id)).length;
      }
    }
  }

  /** What the remote owns and we lack or hold otherwise is fetched from it; what we hold as its and it has not, goes. */
  private async pullRepairs(
    share: SharedChannelRecord,
    peer: RemoteClusterJson,
    pull: Record<DigestKind, string[]>,
    remove: Record<DigestKind, string[]>,
    repaired: Record<DigestKind, number>,
    bytes: { digest: number; repair: number },
  ): Promise<void> {
    const channelId = share.channel_id;
    for (const kind of DIGEST_KINDS) {
      const absent: string[] = [];
      let keys = pull[kind];
      while (keys.length) {
        const batch = keys.slice(0, MAX_KEYS_PER_MESSAGE);
        const reply = (await this.ask(peer.remote_id, { op: 'fetch', channel_id: channelId, kind, keys: batch }, bytes, 'repair')) as {
          content?: SyncContent;
          absent?: string[];
          rest?: string[];
        } | null;
        if (!reply?.content) throw new CheckError('the remote answered fetch without content');
        const rest = new Set(Array.isArray(reply.rest) ? reply.rest : []);
        absent.push(...(reply.absent ?? []).filter((k) => batch.includes(k)));
        const res = await this.receiver.receive(peer, { ...reply.content, id: newId(), channel_id: channelId }, { force: true });
        const got = contentKeys(kind, reply.content);
        const refused = res ? refusedKeys(replyKind(kind), got.map((k) => (kind === 'reactions' || kind === 'acks' ? k.split(':')[0] : k)), res) : new Set<string>();
        repaired[kind] += got.filter((k) => !refused.has(kind === 'reactions' || kind === 'acks' ? k.split(':')[0] : k)).length;
        // Anything the reply left out for size comes next; if it made no progress, stop rather than loop.
        const next = [...batch.filter((k) => rest.has(k)), ...keys.slice(MAX_KEYS_PER_MESSAGE)];
        if (next.length >= keys.length) break;
        keys = next;
      }
      repaired[kind] += await this.removeHere(share, peer, kind, [...remove[kind], ...absent]);
    }
  }

  /** Items stamped as the peer's here that the peer does not have: removed (posts), or set to removed (the rest). */
  private async removeHere(share: SharedChannelRecord, peer: RemoteClusterJson, kind: DigestKind, keys: string[]): Promise<number> {
    if (!keys.length) return 0;
    const channelId = share.channel_id;
    const now = Date.now();
    switch (kind) {
      case 'posts':
        return (await this.importer.removePosts(channelId, keys, peer.remote_id)).length;
      case 'reactions': {
        const rows = (await this.feed.reactionsByKeys(channelId, keys.map(swapPostAndUser))).filter((r) => r.remote_id === peer.remote_id && !r.delete_at);
        const res = await this.importer.importReactions(
          channelId,
          rows.map((r) => ({ ...r, update_at: Math.max(now, r.update_at + 1), delete_at: Math.max(now, r.update_at + 1) })),
          peer.remote_id,
          { force: true },
        );
        return res.written.length;
      }
      case 'acks': {
        const rows = (await this.feed.acksByKeys(channelId, keys.map(swapPostAndUser))).filter((a) => a.remote_id === peer.remote_id && a.acknowledged_at > 0);
        const res = await this.importer.importAcks(
          channelId,
          rows.map((a) => ({ user_id: a.user_id, post_id: a.post_id, acknowledged_at: 0, channel_id: channelId, remote_id: peer.remote_id })),
          peer.remote_id,
        );
        return res.written.length;
      }
      case 'members': {
        const channel = await this.channels.findById(channelId);
        if (!channel || !this.membersCompared(share)) return 0;
        const changes = keys.map((userId) => ({ channel_id: channelId, user_id: userId, is_add: false, remote_id: '', change_time: now }));
        const refused = new Set(await this.membership.apply(peer, channel, changes));
        return keys.filter((k) => !refused.has(k)).length;
      }
    }
  }

  private async repairThere(
    scr: SharedChannelRemoteRecord,
    content: SyncContent,
    removePosts: string[],
    bytes: { digest: number; repair: number },
  ): Promise<{ response: SyncResponse; removed: string[] }> {
    const reply = (await this.ask(scr.remote_id, { op: 'repair', channel_id: scr.channel_id, content, remove_posts: removePosts }, bytes, 'repair')) as {
      response?: SyncResponse;
      removed?: string[];
    } | null;
    if (!reply?.response) throw new CheckError('the remote answered a repair without a response');
    return { response: reply.response, removed: Array.isArray(reply.removed) ? reply.removed : [] };
  }

  /** Sanitised profiles of these users that may go to the remote (never its own). */
  private async profilesFor(userIds: string[], remoteId: string): Promise<Map<string, WireUser>> {
    const users: UserRecord[] = (await this.users.findMany([...new Set(userIds)])).filter((u) => u.remote_id !== remoteId);
    return new Map(users.map((u) => [u.id, sanitizeUserForSync(u)]));
  }

  /** One message of this topic; its reply payload (null: the peer does not know the topic). Counts the bytes. */
  private async ask(remoteId: string, op: Op, bytes: { digest: number; repair: number }, phase: 'digest' | 'repair' = 'digest'): Promise<unknown> {
    const out = Buffer.byteLength(JSON.stringify(op));
    const response = await this.remotes.sendMsg(remoteId, TOPIC_CONSISTENCY, op);
    const back = Buffer.byteLength(JSON.stringify(response.payload ?? null));
    bytes[phase] += out + back;
    if (response.status !== 'OK') throw new CheckError(`the remote answered FAIL: ${response.err}`);
    return response.payload ?? null;
  }

  // ---- responder ------------------------------------------------------------------------------------------------

  /** The topic's handler: the remote asks about a channel shared with it. */
  async answer(sender: RemoteClusterJson, payload: unknown): Promise<unknown> {
    const op = parseOp(payload);
    if (op.op === 'hello') return { v: CONSISTENCY_VERSION };
    const [share, scr] = await Promise.all([this.shares.findShare(op.channel_id), this.shares.findRemote(op.channel_id, sender.remote_id)]);
    if (!share || !scr || scr.delete_at) throw new Error(`cannot process consistency message; ${NO_LONGER_SHARED}: ${op.channel_id}`);
    const scope = digestScope(op.channel_id, sender.remote_id, scr);
    switch (op.op) {
      case 'summary': {
        const members = this.membersCompared(share);
        const sets: Record<string, WireBucket> = {};
        const wanted = DIGEST_KINDS.filter((k) => k !== 'members' || members).flatMap((kind) => (['mine', 'yours'] as const).map((side) => ({ kind, side })));
        const digests = await Promise.all(wanted.map((w) => this.repo.buckets(scope, w.kind, w.side, 0, null)));
        for (const [i, w] of wanted.entries()) {
          const b = digests[i].get('');
          sets[`${w.kind}.${w.side}`] = b ? [b.hash, b.count] : ['0', 0];
        }
        return { v: CONSISTENCY_VERSION, members, sets } satisfies SummaryReply;
      }
      case 'buckets': {
        const buckets = [];
        for (const w of op.want) buckets.push(toWireBuckets(await this.repo.buckets(scope, w.kind, w.side, w.length, w.within)));
        return { v: CONSISTENCY_VERSION, buckets };
      }
      case 'items': {
        const items = [];
        for (const w of op.want) {
          const entries = (await this.repo.items(scope, w.kind, w.side, w.prefixes)).map((i) => [i.key, i.version]);
          const pending = w.side === 'mine' ? [...(await this.pendingHere(scr, w.kind, w.prefixes))].filter((k) => w.prefixes.some((p) => k.startsWith(p))) : [];
          items.push({ entries, pending });
        }
        return { v: CONSISTENCY_VERSION, items };
      }
      case 'fetch':
        return this.fetchMine(share, scr, op.kind, op.keys);
      case 'repair': {
        const response = (await this.receiver.receive(sender, { ...op.content, id: newId(), channel_id: op.channel_id }, { force: true })) ?? null;
        const removed = await this.importer.removePosts(op.channel_id, op.remove_posts, sender.remote_id);
        return { v: CONSISTENCY_VERSION, response, removed };
      }
    }
  }

  /** Our current state of `keys` (ours, that the requester should hold), as sync content, within one reply's size. */
  private async fetchMine(share: SharedChannelRecord, scr: SharedChannelRemoteRecord, kind: DigestKind, keys: string[]): Promise<unknown> {
    const channelId = share.channel_id;
    const requester = scr.remote_id;
    const absent: string[] = [];
    const rest: string[] = [];
    let size = 0;
    const fits = (n: number) => (size + n <= FETCH_REPLY_BYTES ? ((size += n), true) : false);
    const content: SyncContent = {};
    const userIds: string[] = [];
    if (kind === 'posts') {
      const rows = new Map((await this.feed.postsByIds(keys)).map((p) => [p.id, p]));
      const repliedRoots = await this.repo.repliedRoots(channelId, scr.first_post_seq, keys);
      const found = rootsFirst(keys.map((k) => rows.get(k)).filter((p): p is PostRecord => !!p && ourShared(p, channelId, scr, repliedRoots)));
      const foundIds = new Set(found.map((p) => p.id));
      absent.push(...keys.filter((k) => !foundIds.has(k)));
      const wire = await this.posts.toWirePosts(channelId, found);
      content.posts = [];
      for (const p of found) {
        const w = wire.get(p.id)!;
        if (fits(Buffer.byteLength(JSON.stringify(w)))) {
          content.posts.push(w);
          userIds.push(p.user_id);
        } else rest.push(p.id);
      }
    } else if (kind === 'reactions' || kind === 'acks') {
      const itemKeys = keys.map(swapPostAndUser);
      const rows = kind === 'reactions' ? await this.feed.reactionsByKeys(channelId, itemKeys) : await this.feed.acksByKeys(channelId, itemKeys);
      const posts = new Map((await this.feed.postsByIds([...new Set(rows.map((r) => r.post_id))])).map((p) => [p.id, p]));
      const live = rows.filter((r) => {
        const post = posts.get(r.post_id);
        const active = kind === 'reactions' ? (r as { delete_at: number }).delete_at === 0 : (r as { acknowledged_at: number }).acknowledged_at > 0;
        return active && r.remote_id !== requester && !!post && isSharedWith(post, scr);
      });
      const liveKeys = new Set(live.map((r) => swapPostAndUser(r.key)));
      absent.push(...keys.filter((k) => !liveKeys.has(k)));
      if (kind === 'reactions') content.reactions = live.map((r) => toWireReaction(r as Parameters<typeof toWireReaction>[0]));
      else content.acknowledgements = live.map((a) => toWireAck(a as Parameters<typeof toWireAck>[0]));
      userIds.push(...live.map((r) => r.user_id));
    } else {
      const [inChannel, owned] = await Promise.all([this.feed.channelMemberIds(channelId, keys), this.users.findMany(keys)]);
      const members = new Set(inChannel);
      const local = owned.filter((u) => !u.remote_id && members.has(u.id));
      const localIds = new Set(local.map((u) => u.id));
      absent.push(...keys.filter((k) => !localIds.has(k)));
      content.membership_changes = local.map((u) => ({ channel_id: channelId, user_id: u.id, is_add: true, remote_id: '', change_time: Date.now() }));
      userIds.push(...local.map((u) => u.id));
    }
    const profiles = await this.profilesFor(userIds, requester);
    if (profiles.size) content.users = Object.fromEntries(profiles);
    return { v: CONSISTENCY_VERSION, content, absent, rest };
  }
}

function emptyKeys(): Record<DigestKind, string[]> {
  return { posts: [], reactions: [], acks: [], members: [] };
}

function emptyCounts(): Record<DigestKind, number> {
  return { posts: 0, reactions: 0, acks: 0, members: 0 };
}

function pick<T>(map: Map<string, T>, ids: string[]): Record<string, T> | undefined {
  const out: Record<string, T> = {};
  for (const id of ids) if (map.has(id)) out[id] = map.get(id)!;
  return Object.keys(out).length ? out : undefined;
}

function replyKind(kind: DigestKind) {
  return ({ posts: 'post', reactions: 'reaction', acks: 'acknowledgement', members: 'membership' } as const)[kind];
}

/** The digest keys of what a fetch reply carries. */
function contentKeys(kind: DigestKind, content: SyncContent): string[] {
  switch (kind) {
    case 'posts':
      return (content.posts ?? []).map((p) => p.id);
    case 'reactions':
      return (content.reactions ?? []).map((r) => `${r.post_id}:${r.user_id}:${r.emoji_name}`);
    case 'acks':
      return (content.acknowledgements ?? []).map((a) => `${a.post_id}:${a.user_id}`);
    case 'members':
      return (content.membership_changes ?? []).map((c) => c.user_id);
  }
}

const ID_RE = /^[a-z0-9]{26}$/;
const PREFIX_RE = /^[a-z0-9]{0,26}$/;

function bad(what: string): never {
  throw new Error(`invalid consistency message: ${what}`);
}

/** Validates a request of the topic (a peer's input: every field checked, every list bounded). */
function parseOp(payload: unknown): Op {
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) bad('not an object');
  const p = payload as Record<string, unknown>;
  if (p.op === 'hello') return { op: 'hello' };
  if (typeof p.channel_id !== 'string' || !ID_RE.test(p.channel_id)) bad('channel_id');
  const channel_id = p.channel_id;
  const kind = (v: unknown): DigestKind => ((DIGEST_KINDS as readonly unknown[]).includes(v) ? (v as DigestKind) : bad('kind'));
  const side = (v: unknown): Side => (v === 'mine' || v === 'yours' ? v : bad('side'));
  const prefixes = (v: unknown, max: number): string[] => {
    if (!Array.isArray(v) || v.length > max || !v.every((x) => typeof x === 'string' && PREFIX_RE.test(x))) bad('prefixes');
    const list = v as string[];
    if (list.some((x) => x.length !== (list[0]?.length ?? 0))) bad('prefixes of different lengths');
    return list;
  };
  const wants = (v: unknown): Array<Record<string, unknown>> => {
    if (!Array.isArray(v) || v.length > 16 || !v.every((w) => w && typeof w === 'object')) bad('want');
    return v as Array<Record<string, unknown>>;
  };
  switch (p.op) {
    case 'summary':
      return { op: 'summary', channel_id };
    case 'buckets':
      return {
        op: 'buckets',
        channel_id,
        want: wants(p.want).map((w) => {
          const length = typeof w.length === 'number' && Number.isInteger(w.length) && w.length >= 0 && w.length <= MAX_PREFIX ? w.length : bad('length');
          return { kind: kind(w.kind), side: side(w.side), length, within: w.within === null ? null : prefixes(w.within, MAX_PREFIXES_PER_REQUEST) };
        }),
      };
    case 'items':
      return { op: 'items', channel_id, want: wants(p.want).map((w) => ({ kind: kind(w.kind), side: side(w.side), prefixes: prefixes(w.prefixes, MAX_PREFIXES_PER_REQUEST) })) };
    case 'fetch': {
      const keys = p.keys;
      if (!Array.isArray(keys) || keys.length > MAX_KEYS_PER_MESSAGE || !keys.every((k) => typeof k === 'string' && k.length <= 128)) bad('keys');
      return { op: 'fetch', channel_id, kind: kind(p.kind), keys: keys as string[] };
    }
    case 'repair': {
      if (!p.content || typeof p.content !== 'object' || Array.isArray(p.content)) bad('content');
      const remove = p.remove_posts ?? [];
      if (!Array.isArray(remove) || remove.length > MAX_KEYS_PER_MESSAGE || !remove.every((k) => typeof k === 'string' && ID_RE.test(k))) bad('remove_posts');
      return { op: 'repair', channel_id, content: p.content as SyncContent, remove_posts: remove as string[] };
    }
    default:
      return bad('op');
  }
}

