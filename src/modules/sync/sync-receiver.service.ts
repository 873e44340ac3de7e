import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { isDataException } from '../../common/pg-errors.js';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { UserDirectory } from '../auth/user-directory.service.js';
import { ChannelAccess } from '../chat/channels/channel-access.service.js';
import { ChannelsService } from '../chat/channels/channels.service.js';
import type { PostRecord, ReactionRecord, StatusValue } from '../chat/feed/channel-feed.service.js';
import { ChannelImportService } from '../chat/feed/channel-import.service.js';
import { MembershipService } from '../membership/membership.service.js';
import type { RemoteClusterJson } from '../remote-cluster/remote-cluster.mapper.js';
import type { RemoteClusterMsg } from '../remote-cluster/dto/frame.dto.js';
import { TopicRegistry } from '../remote-cluster/topic-registry.service.js';
import { DeliveryTrace } from '../remote-cluster/trace/delivery-trace.service.js';
import { RemoteUserError, RemoteUsersService } from '../shared-channel/remote-users.service.js';
import { SharedChannelStore, type SharedChannelRecord } from '../shared-channel/shared-channel-store.service.js';
import {
  emptySyncResponse,
  NO_LONGER_SHARED,
  type SyncMsg,
  type SyncResponse,
  TOPIC_GLOBAL_USER_SYNC,
  TOPIC_MEMBERSHIP,
  TOPIC_SYNC,
  type WireAck,
  type WirePost,
  type WireReaction,
  type WireStatus,
  type WireUser,
} from '../shared-channel/wire.types.js';
import { applyMentionTransforms, type MentionTarget } from './mentions.js';
import { toLocalPermalinks } from './permalinks.js';
import { SyncMetrics } from './sync.metrics.js';
import { SYNC_MSG_CAPS, wireAckProblem, wirePostProblem, wireReactionProblem, wireStatusProblem } from './sync-wire.js';

const ID_RE = /^[a-z0-9]{26}$/;

/** An item stamped later than `latest` (this server's clock plus SYNC_MAX_CLOCK_SKEW_MS) is refused. */
export function futureProblem(latest: number, ...stamps: unknown[]): string | null {
  return stamps.some((t) => typeof t === 'number' && t > latest) ? "timestamp ahead of this server's clock" : null;
}

/** A whole message is unusable: the Response says FAIL with this text. */
export class SyncReceiveError extends Error {}

/** A post, reaction or acknowledgement this server did not apply, and why (for the reply and the delivery trace). */
interface Refusal {
  kind: 'post' | 'reaction' | 'acknowledgement';
  post_id: string;
  key: string;
  update_at: number;
  reason: string;
}

/** Records why an item listed in the reply's errors was refused: in `error_reasons` (ours, Mattermost ignores it). */
function noteRefusal(res: SyncResponse, refusals: Refusal[], r: Refusal): void {
  const reasons = (res.error_reasons ??= {});
  reasons[`${r.kind}:${r.post_id}`] ??= r.reason;
  refusals.push(r);
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function parseSyncMsg(payload: unknown): SyncMsg {
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) throw new SyncReceiveError('invalid sync message');
  const m = payload as Record<string, unknown>;
  if (typeof m.channel_id !== 'string' || (m.channel_id !== '' && !ID_RE.test(m.channel_id))) throw new SyncReceiveError('invalid sync message: channel_id');
  for (const k of ['posts', 'reactions', 'statuses', 'acknowledgements', 'membership_changes'] as const) {
    if (m[k] !== undefined && m[k] !== null && !Array.isArray(m[k])) throw new SyncReceiveError(`invalid sync message: ${k}`);
  }
  for (const k of ['users', 'mention_transforms'] as const) {
    if (m[k] !== undefined && m[k] !== null && (typeof m[k] !== 'object' || Array.isArray(m[k]))) throw new SyncReceiveError(`invalid sync message: ${k}`);
  }
  return m as unknown as SyncMsg;
}

/** The first `cap` items, and those past it. */
function split<T>(items: T[] | null | undefined, cap: number): [T[], T[]] {
  const all = items ?? [];
  return all.length > cap ? [all.slice(0, cap), all.slice(cap)] : [all, []];
}

const idOf = (v: unknown, key: string): string => {
  const id = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  return typeof id === 'string' ? id : '';
};

/**
 * The message with every collection within SYNC_MSG_CAPS; what lies past a cap goes into the response as errors of
 * its kind (transforms, which have none, are dropped). Counted in shared_channels_item_errors_total.
 */
function withinCaps(msg: SyncMsg, res: SyncResponse, countErrors: (kind: string, n: number) => void): SyncMsg {
  const [posts, extraPosts] = split(msg.posts, SYNC_MSG_CAPS.posts);
  const [reactions, extraReactions] = split(msg.reactions, SYNC_MSG_CAPS.reactions);
  const [acks, extraAcks] = split(msg.acknowledgements, SYNC_MSG_CAPS.acknowledgements);
  const [statuses, extraStatuses] = split(msg.statuses, SYNC_MSG_CAPS.statuses);
  const [memberships, extraMemberships] = split(msg.membership_changes, SYNC_MSG_CAPS.membership_changes);
  const [users, extraUsers] = split(Object.entries(msg.users ?? {}), SYNC_MSG_CAPS.users);
  const [transforms, extraTransforms] = split(Object.entries(msg.mention_transforms ?? {}), SYNC_MSG_CAPS.mention_transforms);
  res.post_errors!.push(...extraPosts.map((p) => idOf(p, 'id')));
  res.reaction_errors!.push(...extraReactions.map((r) => idOf(r, 'post_id')));
  res.acknowledgement_errors!.push(...extraAcks.map((a) => idOf(a, 'post_id')));
  res.status_errors!.push(...extraStatuses.map((s) => idOf(s, 'user_id')));
  res.user_errors!.push(...extraUsers.map(([id]) => id));
  if (extraMemberships.length) res.membership_errors = extraMemberships.map((c) => idOf(c, 'user_id'));
  const over: Array<[string, number]> = [
    ['post', extraPosts.length],
    ['reaction', extraReactions.length],
    ['acknowledgement', extraAcks.length],
    ['status', extraStatuses.length],
    ['membership', extraMemberships.length],
    ['user', extraUsers.length],
    ['mention_transform', extraTransforms.length],
  ];
  for (const [kind, n] of over) if (n) countErrors(kind, n);
  if (!over.some(([, n]) => n)) return msg;
  return {
    ...msg,
    posts,
    reactions,
    acknowledgements: acks,
    statuses,
    membership_changes: memberships,
    ...(msg.users ? { users: Object.fromEntries(users) } : {}),
    ...(msg.mention_transforms ? { mention_transforms: Object.fromEntries(transforms) } : {}),
  };
}

/**
 * The receiving side of sharedchannel_sync (section 5.7), authorization first: the channel must be shared with
 * the sender, and the sender may only write users, posts, reactions, acknowledgements and statuses it owns
 * (everything it sends is stamped with its id; a hub's relayed content is stamped with the hub's). Anything else
 * is a per-item error, never applied. Applying the same message twice changes nothing.
 */
@Injectable()
export class SyncReceiver implements OnModuleInit {
  private readonly logger = new Logger(SyncReceiver.name);

  constructor(
    private readonly topics: TopicRegistry,
    private readonly shares: SharedChannelStore,
    private readonly remoteUsers: RemoteUsersService,
    private readonly users: UserDirectory,
    private readonly importer: ChannelImportService,
    private readonly metrics: SyncMetrics,
    private readonly membership: MembershipService,
    private readonly channels: ChannelsService,
    private readonly access: ChannelAccess,
    private readonly trace: DeliveryTrace,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.topics.register(TOPIC_SYNC, (remote, msg: RemoteClusterMsg<unknown>) => this.receive(remote, msg.payload, { msgId: msg.id }));
    this.topics.register(TOPIC_GLOBAL_USER_SYNC, (remote, msg: RemoteClusterMsg<unknown>) => this.receive(remote, msg.payload, { msgId: msg.id }));
    // Older senders put membership changes on their own topic; the message is a SyncMsg all the same.
    this.topics.register(TOPIC_MEMBERSHIP, (remote, msg: RemoteClusterMsg<unknown>) => this.receive(remote, msg.payload, { msgId: msg.id }));
  }

  /**
   * The SyncResponse, always, for a channel's message: every item this server did not apply is listed in its kind's
   * errors (membership changes while member sync is off included), so a sender never has to guess from a null payload.
   * Only a global user sync while that feature is off is answered without a payload, as Mattermost answers it (the
   * sender keeps its cursor). `force` (consistency repairs from the item's owner) applies an item even where
   * last-writer-wins would keep the stored one.
   */
  async receive(sender: RemoteClusterJson, payload: unknown, opts: { force?: boolean; msgId?: string } = {}): Promise<SyncResponse | undefined> {
    const res = emptySyncResponse();
    const msg = withinCaps(parseSyncMsg(payload), res, (kind, n) => {
      this.metrics.itemErrors.inc({ remote_id: sender.remote_id, kind }, n);
      this.logger.warn({ remote_id: sender.remote_id, kind, refused: n }, 'sync message over its cap: the rest refused');
    });
    if (msg.channel_id === '') {
      if (msg.posts?.length || msg.reactions?.length || msg.statuses?.length || msg.acknowledgements?.length) {
        throw new SyncReceiveError('global user sync may only carry users');
      }
      if (!this.config.sync.globalUserSync) return undefined;
      // Users only: no team or channel membership comes with them.
      await this.receiveUsers(sender, msg.users ?? {}, res);
      return res;
    }
    const memberSync = this.membership.enabled;
    const [share, scr] = await Promise.all([this.shares.findShare(msg.channel_id), this.shares.findRemote(msg.channel_id, sender.remote_id)]);
    if (!share || !scr || scr.delete_at) throw new SyncReceiveError(`cannot process sync message; ${NO_LONGER_SHARED}: ${msg.channel_id}`);
    // Unlike Mattermost, the home of a read-only share refuses content that arrives for it anyway.
    const readOnly = share.home && share.readonly;

    const force = opts.force === true;
    // Timestamps further ahead of our clock than this are refused: a peer whose clock runs fast would otherwise pin
    // its posts at the top of the channel and win every later edit.
    const latest = Date.now() + this.config.sync.maxClockSkewMs;
    const refusals: Refusal[] = [];
    await this.receiveUsers(sender, msg.users ?? {}, res);
    if (msg.posts?.length) await this.receivePosts(sender, msg, readOnly, res, await this.permalinkRewriter(share), latest, force, refusals);
    if (msg.acknowledgements?.length) await this.receiveAcks(sender, msg.channel_id, msg.acknowledgements, readOnly, res, latest, force, refusals);
    if (msg.reactions?.length) await this.receiveReactions(sender, msg.channel_id, msg.reactions, readOnly, res, latest, force, refusals);
    this.traceRefusals(sender, msg.channel_id, refusals, opts.msgId);
    if (msg.statuses?.length) await this.receiveStatuses(sender, msg.statuses, res);
    if (msg.membership_changes?.length) {
      if (memberSync) await this.receiveMemberships(sender, msg, res);
      else res.membership_errors = [...(res.membership_errors ?? []), ...msg.membership_changes.map((c) => (typeof c?.user_id === 'string' ? c.user_id : ''))];
    }
    return res;
  }

  /** What this server refused of a sender's message, item by item, in the delivery trace (direction in). */
  private traceRefusals(sender: RemoteClusterJson, channelId: string, refusals: Refusal[], msgId: string | undefined): void {
    if (!refusals.length) return;
    const now = Date.now();
    this.trace.items(
      refusals
        .filter((r) => ID_RE.test(r.post_id))
        .map((r) => ({
          direction: 'in' as const,
          remote_id: sender.remote_id,
          channel_id: channelId,
          post_id: r.post_id,
          kind: r.kind,
          item_key: r.key,
          item_update_at: r.update_at,
          event: 'refused' as const,
          msg_id: msgId,
          reason: r.reason,
          at: now,
        })),
    );
  }

  private async receiveMemberships(sender: RemoteClusterJson, msg: SyncMsg, res: SyncResponse): Promise<void> {
    const channel = await this.channels.findById(msg.channel_id);
    if (!channel) throw new SyncReceiveError('channel not found processing sync message');
    const errors = await this.membership.apply(sender, channel, msg.membership_changes!);
    if (errors.length) {
      res.membership_errors = [...(res.membership_errors ?? []), ...errors];
      this.metrics.itemErrors.inc({ remote_id: sender.remote_id, kind: 'membership' }, errors.length);
    }
    const applied = msg.membership_changes!.length - errors.length;
    if (applied > 0) this.metrics.itemsReceived.inc({ remote_id: sender.remote_id, kind: 'membership' }, applied);
  }

  /** For O and P channels: links to the shared channel's posts on the sender's site, rewritten to ours (9.1). */
  private async permalinkRewriter(share: SharedChannelRecord): Promise<(message: string) => string> {
    if ((share.type !== 'O' && share.type !== 'P') || !share.team_id) return (m) => m;
    let teamName: string;
    try {
      teamName = (await this.access.team(share.team_id)).name;
    } catch {
      return (m) => m;
    }
    return (m) => toLocalPermalinks(m, this.config.http.siteUrl, teamName);
  }

  private async receiveUsers(sender: RemoteClusterJson, users: Record<string, WireUser>, res: SyncResponse): Promise<void> {
    for (const user of Object.values(users)) {
      try {
        await this.remoteUsers.upsert(sender, user);
        res.users_syncd!.push(user.id);
        res.users_last_update_at = Math.max(res.users_last_update_at, typeof user.update_at === 'number' ? user.update_at : 0);
      } catch (err) {
        // A value the database cannot store (a NUL character) refuses this user alone, not the whole message.
        if (!(err instanceof RemoteUserError) && !isDataException(err)) throw err;
        res.user_errors!.push(typeof user?.id === 'string' ? user.id : '');
        this.metrics.itemErrors.inc({ remote_id: sender.remote_id, kind: 'user' });
        this.logger.warn({ remote_id: sender.remote_id, err: err instanceof Error ? err.message : String(err) }, 'rejected a user');
      }
    }
    if (res.users_syncd!.length) this.metrics.itemsReceived.inc({ remote_id: sender.remote_id, kind: 'user' }, res.users_syncd!.length);
  }

  private async receivePosts(
    sender: RemoteClusterJson,
    msg: SyncMsg,
    readOnly: boolean,
    res: SyncResponse,
    localLinks: (message: string) => string,
    latest: number,
    force: boolean,
    refusals: Refusal[],
  ): Promise<void> {
    const channelId = msg.channel_id;
    const valid: WirePost[] = [];
    for (const p of msg.posts ?? []) {
      const problem = readOnly
        ? 'channel is read-only'
        : (wirePostProblem(p, this.config.limits.postPropsMaxBytes) ?? futureProblem(latest, p.create_at, p.update_at, p.edit_at, p.delete_at));
      if (problem) {
        res.post_errors!.push(typeof (p as WirePost)?.id === 'string' ? (p as WirePost).id : '');
        const id = str((p as WirePost)?.id);
        noteRefusal(res, refusals, { kind: 'post', post_id: id, key: id, update_at: num((p as WirePost)?.update_at), reason: problem });
        continue;
      }
      valid.push(p);
    }
    const transforms = msg.mention_transforms ?? {};
    const targets = await this.mentionTargets(Object.values(transforms));
    const entities: PostRecord[] = valid.map((p) => ({
      id: p.id,
      create_at: p.create_at,
      update_at: p.update_at,
      edit_at: p.edit_at ?? 0,
      delete_at: p.delete_at ?? 0,
      is_pinned: p.is_pinned === true,
      user_id: p.user_id,
      channel_id: p.channel_id,
      root_id: p.root_id ?? '',
      original_id: typeof p.original_id === 'string' ? p.original_id.slice(0, 26) : '',
      message: localLinks(Object.keys(transforms).length ? applyMentionTransforms(p.message, transforms, targets, sender.name) : p.message),
      type: p.type ?? '',
      props: (p.props as Record<string, unknown> | null) ?? {},
      hashtags: typeof p.hashtags === 'string' ? p.hashtags.slice(0, 1000) : '',
      file_ids: p.file_ids ?? [],
      pending_post_id: '',
      remote_id: sender.remote_id,
      seq: 0,
    }));
    const result = await this.importer.importPosts(channelId, entities, sender.remote_id, { force });
    const byId = new Map(entities.map((p) => [p.id, p]));
    for (const e of result.errors) {
      res.post_errors!.push(e.id);
      noteRefusal(res, refusals, { kind: 'post', post_id: e.id, key: e.id, update_at: byId.get(e.id)?.update_at ?? 0, reason: e.reason });
      this.logger.warn({ remote_id: sender.remote_id, post_id: e.id, reason: e.reason }, 'rejected a post');
    }
    if (result.errors.length) this.metrics.itemErrors.inc({ remote_id: sender.remote_id, kind: 'post' }, result.errors.length);
    const now = Date.now();
    const written = new Set(result.written);
    for (const p of entities) {
      if (!written.has(p.id)) continue;
      res.posts_last_update_at = Math.max(res.posts_last_update_at, p.update_at);
      this.metrics.lag.observe({ remote_id: sender.remote_id }, Math.max(0, now - p.update_at) / 1000);
    }
    if (written.size) this.metrics.itemsReceived.inc({ remote_id: sender.remote_id, kind: 'post' }, written.size);
  }

  private async mentionTargets(userIds: string[]): Promise<Map<string, MentionTarget>> {
    const users = await this.users.findMany(userIds.filter((id) => typeof id === 'string' && ID_RE.test(id)));
    return new Map(users.map((u) => [u.id, { localUsername: u.username, isLocal: !u.remote_id }]));
  }

  private async receiveReactions(
    sender: RemoteClusterJson,
    channelId: string,
    reactions: WireReaction[],
    readOnly: boolean,
    res: SyncResponse,
    latest: number,
    force: boolean,
    refusals: Refusal[],
  ): Promise<void> {
    const rows: ReactionRecord[] = [];
    for (const r of reactions) {
      const problem = readOnly ? 'channel is read-only' : (wireReactionProblem(r) ?? futureProblem(latest, r.create_at, r.update_at, r.delete_at));
      if (problem) {
        res.reaction_errors!.push(typeof r?.post_id === 'string' ? r.post_id : '');
        const key = `${str(r?.user_id)}:${str(r?.post_id)}:${str(r?.emoji_name).slice(0, 64)}`;
        noteRefusal(res, refusals, { kind: 'reaction', post_id: str(r?.post_id), key, update_at: num(r?.update_at), reason: problem });
        continue;
      }
      rows.push({
        user_id: r.user_id,
        post_id: r.post_id,
        emoji_name: r.emoji_name,
        create_at: r.create_at ?? 0,
        update_at: r.update_at ?? r.create_at ?? 0,
        delete_at: r.delete_at ?? 0,
        remote_id: sender.remote_id,
        channel_id: channelId,
        seq: 0,
      });
    }
    const result = await this.importer.importReactions(channelId, rows, sender.remote_id, { force });
    for (const e of result.errors) {
      res.reaction_errors!.push(e.id);
      noteRefusal(res, refusals, { kind: 'reaction', post_id: e.id, key: e.id, update_at: 0, reason: e.reason });
    }
    if (result.errors.length) this.metrics.itemErrors.inc({ remote_id: sender.remote_id, kind: 'reaction' }, result.errors.length);
    res.reactions_last_update_at = rows.reduce((m, r) => Math.max(m, r.update_at), 0);
    if (result.written.length) this.metrics.itemsReceived.inc({ remote_id: sender.remote_id, kind: 'reaction' }, result.written.length);
  }

  private async receiveAcks(
    sender: RemoteClusterJson,
    channelId: string,
    acks: WireAck[],
    readOnly: boolean,
    res: SyncResponse,
    latest: number,
    force: boolean,
    refusals: Refusal[],
  ): Promise<void> {
    const rows = [];
    for (const a of acks) {
      const problem = readOnly ? 'channel is read-only' : (wireAckProblem(a) ?? futureProblem(latest, a.acknowledged_at));
      if (problem) {
        res.acknowledgement_errors!.push(typeof a?.post_id === 'string' ? a.post_id : '');
        const key = `${str(a?.user_id)}:${str(a?.post_id)}`;
        noteRefusal(res, refusals, { kind: 'acknowledgement', post_id: str(a?.post_id), key, update_at: num(a?.acknowledged_at), reason: problem });
        continue;
      }
      rows.push({ user_id: a.user_id, post_id: a.post_id, acknowledged_at: a.acknowledged_at ?? 0, channel_id: channelId, remote_id: sender.remote_id });
    }
    const result = await this.importer.importAcks(channelId, rows, sender.remote_id, { force });
    for (const e of result.errors) {
      res.acknowledgement_errors!.push(e.id);
      noteRefusal(res, refusals, { kind: 'acknowledgement', post_id: e.id, key: e.id, update_at: 0, reason: e.reason });
    }
    res.acknowledgements_last_update_at = rows.reduce((m, a) => Math.max(m, a.acknowledged_at), 0);
    if (result.written.length) this.metrics.itemsReceived.inc({ remote_id: sender.remote_id, kind: 'acknowledgement' }, result.written.length);
  }

  private async receiveStatuses(sender: RemoteClusterJson, statuses: WireStatus[], res: SyncResponse): Promise<void> {
    const rows = [];
    for (const s of statuses) {
      if (wireStatusProblem(s)) {
        res.status_errors!.push(typeof s?.user_id === 'string' ? s.user_id : '');
        continue;
      }
      rows.push({
        user_id: s.user_id,
        status: s.status as StatusValue,
        manual: s.manual === true,
        last_activity_at: typeof s.last_activity_at === 'number' ? s.last_activity_at : 0,
        dnd_end_time: typeof s.dnd_end_time === 'number' ? s.dnd_end_time : 0,
      });
    }
    const result = await this.importer.importStatuses(rows, sender.remote_id);
    for (const e of result.errors) res.status_errors!.push(e.id);
  }
}
