import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { toUserJson } from '../auth/user.mapper.js';
import { UserDirectory, type UserRecord } from '../auth/user-directory.service.js';
import { toChannelJson } from '../chat/channels/channel.mapper.js';
import { ChannelsService, type ChannelRecord } from '../chat/channels/channels.service.js';
import { isSystemPostType } from '../chat/chat.constants.js';
import { CHAT_CHANGE_EVENT, ChangeKind, type ChangeEvent } from '../chat/events/change-event.types.js';
import { CHAT_NOTICE_EVENT, type ChatNotice } from '../chat/events/chat-notice.types.js';
import { toAckJson, toReactionJson, type PostJson } from '../chat/posts/post.mapper.js';
import { PostsService } from '../chat/posts/posts.service.js';
import { ReactionsService } from '../chat/posts/reactions.service.js';
import { UsersProfileService } from '../chat/users/users-profile.service.js';
import { CONNECTION_STATE_EVENT, type ConnectionStateChange } from '../remote-cluster/connection-state.service.js';
import { SHARED_CHANNEL_EVENT, type SharedChannelEvent } from '../shared-channel/shared-channel-events.service.js';
import { possibleMentions } from '../sync/mentions.js';
import { WebSocketBus } from './websocket-bus.service.js';
import { WsEventName } from './websocket.constants.js';
import { broadcast, type WsEventMessage } from './websocket-event.js';
import { WebSocketMetrics } from './websocket.metrics.js';

/** What happened, as this replica heard it. */
type Source =
  | { type: 'change'; e: ChangeEvent }
  | { type: 'notice'; n: ChatNotice }
  | { type: 'share'; e: SharedChannelEvent }
  | { type: 'connection'; e: ConnectionStateChange }
  | { type: 'ready'; msg: WsEventMessage };

/** Sources rendered in one pass: a bulk import's hundreds of changes take a handful of queries. */
const MAX_PASS = 500;

const POST_KINDS = new Set<string>([ChangeKind.PostCreated, ChangeKind.PostEdited, ChangeKind.PostDeleted]);

/** What one rendering pass read from the database, by id. */
interface Loaded {
  posts: Map<string, PostJson>;
  channels: Map<string, ChannelRecord>;
  users: Map<string, UserRecord>;
  usernames: Map<string, string>;
  reactions: Map<string, ReturnType<typeof toReactionJson>>;
  acks: Map<string, ReturnType<typeof toAckJson>>;
  statuses: Map<string, string>;
  members: Map<string, string[]>;
}

/**
 * Turns the domain events of this replica (committed chat changes, chat notices, shares, connection states) into
 * Mattermost's WebSocket events and publishes them to every replica. Changes imported by the sync engine are chat
 * changes like any other, so a post that arrives from a peer raises the same `posted` as one made here.
 *
 * Events are rendered in passes, one at a time and in arrival order: everything heard while a pass runs goes into
 * the next one, read with one query per kind of data.
 */
@Injectable()
export class WebSocketEventsService {
  private readonly logger = new Logger(WebSocketEventsService.name);
  private pending: Source[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly bus: WebSocketBus,
    private readonly posts: PostsService,
    private readonly reactions: ReactionsService,
    private readonly channels: ChannelsService,
    private readonly users: UserDirectory,
    private readonly profiles: UsersProfileService,
    private readonly metrics: WebSocketMetrics,
  ) {}

  @OnEvent(CHAT_CHANGE_EVENT)
  onChange(e: ChangeEvent): void {
    this.enqueue({ type: 'change', e });
  }

  @OnEvent(CHAT_NOTICE_EVENT)
  onNotice(n: ChatNotice): void {
    this.enqueue({ type: 'notice', n });
  }

  @OnEvent(SHARED_CHANNEL_EVENT)
  onShare(e: SharedChannelEvent): void {
    this.enqueue({ type: 'share', e });
  }

  @OnEvent(CONNECTION_STATE_EVENT)
  onConnectionState(e: ConnectionStateChange): void {
    this.enqueue({ type: 'connection', e });
  }

  /** An event made by the WebSocket itself (typing), in order with the rest. */
  raise(msg: WsEventMessage): void {
    this.enqueue({ type: 'ready', msg });
  }

  /** Resolves once everything heard so far has been published (tests, shutdown). */
  async drain(): Promise<void> {
    while (this.running) await this.running;
  }

  private enqueue(source: Source): void {
    this.pending.push(source);
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
  }

  private async run(): Promise<void> {
    // Let the rest of a burst (one import publishes hundreds of events synchronously) join the first pass.
    await new Promise((r) => setImmediate(r));
    while (this.pending.length) {
      const pass = this.pending.splice(0, MAX_PASS);
      let messages: WsEventMessage[] = [];
      try {
        messages = await this.render(pass);
        await this.bus.publish(messages);
        for (const m of messages) this.metrics.published.inc({ event: m.event });
      } catch (err) {
        this.metrics.dropped.inc({ reason: 'publish' }, Math.max(messages.length, pass.length));
        this.logger.error({ err, sources: pass.length }, 'could not publish WebSocket events');
      }
    }
  }

  private async render(pass: Source[]): Promise<WsEventMessage[]> {
    const loaded = await this.load(pass);
    const out: WsEventMessage[] = [];
    for (const s of pass) {
      if (s.type === 'change') out.push(...this.fromChange(s.e, loaded));
      else if (s.type === 'notice') out.push(...this.fromNotice(s.n, loaded));
      else if (s.type === 'share') out.push(this.fromShare(s.e));
      else if (s.type === 'connection') out.push(this.fromConnectionState(s.e));
      else out.push(s.msg);
    }
    return out;
  }

  private async load(pass: Source[]): Promise<Loaded> {
    const changes = pass.flatMap((s) => (s.type === 'change' ? [s.e] : []));
    const postIds = new Set<string>();
    const channelIds = new Set<string>();
    const userIds = new Set(pass.flatMap((s) => (s.type === 'notice' && s.n.kind === 'user_updated' ? [s.n.user_id] : [])));
    const statusIds = new Set<string>();
    const reactionKeys: Array<{ user_id: string; post_id: string; emoji_name: string }> = [];
    const ackKeys: Array<{ user_id: string; post_id: string }> = [];
    const groupChannels = new Set<string>();
    for (const e of changes) {
      if (e.channel_id) channelIds.add(e.channel_id);
      switch (e.kind) {
        case ChangeKind.PostCreated:
        case ChangeKind.PostEdited:
        case ChangeKind.PostDeleted:
          postIds.add(e.post_id);
          break;
        case ChangeKind.ReactionAdded:
        case ChangeKind.ReactionRemoved:
          reactionKeys.push({ user_id: e.user_id, post_id: e.post_id, emoji_name: e.emoji_name });
          break;
        case ChangeKind.AckAdded:
        case ChangeKind.AckRemoved:
          ackKeys.push({ user_id: e.user_id, post_id: e.post_id });
          break;
        case ChangeKind.UserUpdated:
        case ChangeKind.UserPictureUpdated:
          userIds.add(e.user_id);
          break;
        case ChangeKind.StatusChanged:
          statusIds.add(e.user_id);
          break;
        case ChangeKind.ChannelCreated:
          groupChannels.add(e.channel_id);
          break;
        default:
          break;
      }
    }
    const [posts, channels, reactionRows, ackRows, statuses] = await Promise.all([
      this.posts.renderByIds([...postIds]),
      this.channels.findByIds([...channelIds]),
      this.reactions.reactionRows(reactionKeys),
      this.reactions.ackRows(ackKeys),
      statusIds.size ? this.profiles.statusesOf([...statusIds]) : [],
    ]);
    const channelMap = new Map(channels.map((c) => [c.id, c]));
    // Senders of new posts, and the users their messages mention.
    const mentionNames = new Set<string>();
    for (const e of changes) {
      if (e.kind !== ChangeKind.PostCreated) continue;
      const post = posts.find((p) => p.id === e.post_id);
      if (!post) continue;
      userIds.add(post.user_id);
      if (post.message.includes('@')) for (const candidates of possibleMentions(post.message)) for (const c of candidates) mentionNames.add(c);
    }
    const members = new Map<string, string[]>();
    const dmChannels = [...groupChannels].filter((id) => ['D', 'G'].includes(channelMap.get(id)?.type ?? ''));
    const [users, mentioned] = await Promise.all([
      this.users.findMany([...userIds]),
      mentionNames.size ? this.users.findByUsernames([...mentionNames]) : [],
      Promise.all(dmChannels.map(async (id) => members.set(id, await this.channels.memberIds(id, 8)))),
    ]);
    return {
      posts: new Map(posts.map((p) => [p.id, p])),
      channels: channelMap,
      users: new Map(users.map((u) => [u.id, u])),
      usernames: new Map(mentioned.map((u) => [u.username, u.id])),
      reactions: new Map(reactionRows.map((r) => [`${r.user_id}:${r.post_id}:${r.emoji_name}`, toReactionJson(r)])),
      acks: new Map(ackRows.map((a) => [`${a.user_id}:${a.post_id}`, toAckJson(a)])),
      statuses: new Map(statuses.map((s) => [s.user_id, s.status])),
      members,
    };
  }

  private fromChange(e: ChangeEvent, l: Loaded): WsEventMessage[] {
    const at = e.at;
    const inChannel = (event: WsEventName, data: Record<string, unknown>): WsEventMessage => ({ event, data, broadcast: broadcast({ channel_id: e.channel_id ?? '' }), at });
    if (POST_KINDS.has(e.kind) && 'post_id' in e) {
      const post = l.posts.get(e.post_id);
      if (!post) return [];
      if (e.kind === ChangeKind.PostEdited) return [inChannel(WsEventName.PostEdited, { post: JSON.stringify(post) })];
      if (e.kind === ChangeKind.PostDeleted) return [inChannel(WsEventName.PostDeleted, { post: JSON.stringify(post) })];
      return [this.posted(post, l, at)];
    }
    switch (e.kind) {
      case ChangeKind.ReactionAdded:
      case ChangeKind.ReactionRemoved: {
        const reaction = l.reactions.get(`${e.user_id}:${e.post_id}:${e.emoji_name}`);
        if (!reaction) return [];
        const name = e.kind === ChangeKind.ReactionAdded ? WsEventName.ReactionAdded : WsEventName.ReactionRemoved;
        return [inChannel(name, { reaction: JSON.stringify(reaction) })];
      }
      case ChangeKind.AckAdded:
      case ChangeKind.AckRemoved: {
        const ack = l.acks.get(`${e.user_id}:${e.post_id}`);
        if (!ack) return [];
        const name = e.kind === ChangeKind.AckAdded ? WsEventName.AckAdded : WsEventName.AckRemoved;
        return [inChannel(name, { acknowledgement: JSON.stringify(ack) })];
      }
      case ChangeKind.MemberAdded:
        return [inChannel(WsEventName.UserAdded, { user_id: e.user_id, team_id: l.channels.get(e.channel_id)?.team_id ?? '' })];
      case ChangeKind.MemberRemoved:
        // The removed user is no longer a member, so Mattermost tells them separately.
        return [
          inChannel(WsEventName.UserRemoved, { user_id: e.user_id, remover_id: e.actor_id ?? '' }),
          { event: WsEventName.UserRemoved, data: { channel_id: e.channel_id, remover_id: e.actor_id ?? '' }, broadcast: broadcast({ user_id: e.user_id }), at },
        ];
      case ChangeKind.UserUpdated:
      case ChangeKind.UserPictureUpdated:
        return this.userUpdated(e.user_id, l, at);
      case ChangeKind.StatusChanged:
        // Mattermost's default (AccurateStatuses off): only the user's own connections hear of it.
        return [{ event: WsEventName.StatusChange, data: { status: l.statuses.get(e.user_id) ?? 'offline', user_id: e.user_id }, broadcast: broadcast({ user_id: e.user_id }), at }];
      case ChangeKind.ChannelUpdated: {
        const channel = l.channels.get(e.channel_id);
        return channel ? [inChannel(WsEventName.ChannelUpdated, { channel: JSON.stringify(toChannelJson(channel)) })] : [];
      }
      case ChangeKind.ChannelCreated:
        return this.channelCreated(e.channel_id, l, at);
      case ChangeKind.ChannelDeleted: {
        const channel = l.channels.get(e.channel_id);
        if (!channel) return [];
        // Mattermost tells the whole team; a private channel's existence is only its members' business.
        const to = channel.type === 'O' ? broadcast({ team_id: channel.team_id }) : broadcast({ channel_id: channel.id });
        return [{ event: WsEventName.ChannelDeleted, data: { channel_id: channel.id, delete_at: channel.delete_at }, broadcast: to, at }];
      }
      default:
        return [];
    }
  }

  /** The public profile to everyone else, the full one to the user. */
  private userUpdated(userId: string, l: Loaded, at: number): WsEventMessage[] {
    const user = l.users.get(userId);
    if (!user) return [];
    return [
      { event: WsEventName.UserUpdated, data: { user: toUserJson(user) }, broadcast: broadcast({ omit_users: { [user.id]: true } }), at },
      { event: WsEventName.UserUpdated, data: { user: toUserJson(user, { self: true }) }, broadcast: broadcast({ user_id: user.id }), at },
    ];
  }

  /** Mattermost's `posted`: the post as JSON text, with the channel and sender it needs to notify. */
  private posted(post: PostJson, l: Loaded, at: number): WsEventMessage {
    const channel = l.channels.get(post.channel_id);
    const sender = l.users.get(post.user_id);
    const mentions = new Set<string>();
    if (post.message.includes('@')) {
      for (const candidates of possibleMentions(post.message)) {
        const id = candidates.map((c) => l.usernames.get(c)).find(Boolean);
        if (id && id !== post.user_id) mentions.add(id);
      }
    }
    return {
      event: WsEventName.Posted,
      data: {
        channel_display_name: channel?.display_name ?? '',
        channel_name: channel?.name ?? '',
        channel_type: channel?.type ?? '',
        post: JSON.stringify(post),
        sender_name: isSystemPostType(post.type) ? 'System' : sender ? `@${sender.username}` : '',
        set_online: true,
        team_id: channel?.team_id ?? '',
      },
      broadcast: broadcast({ channel_id: post.channel_id }),
      ...(mentions.size ? { mentions: [...mentions] } : {}),
      at,
    };
  }

  /** channel_created to its creator; direct_added / group_added to the participants of a new DM or GM. */
  private channelCreated(channelId: string, l: Loaded, at: number): WsEventMessage[] {
    const channel = l.channels.get(channelId);
    if (!channel) return [];
    if (channel.type === 'D') {
      const members = l.members.get(channel.id) ?? [];
      const teammate = members.find((m) => m !== channel.creator_id) ?? channel.creator_id;
      return [{ event: WsEventName.DirectAdded, data: { creator_id: channel.creator_id, teammate_id: teammate }, broadcast: broadcast({ channel_id: channel.id }), at }];
    }
    if (channel.type === 'G') {
      return [{ event: WsEventName.GroupAdded, data: { teammate_ids: JSON.stringify(l.members.get(channel.id) ?? []) }, broadcast: broadcast({ channel_id: channel.id }), at }];
    }
    return [{ event: WsEventName.ChannelCreated, data: { channel_id: channel.id, team_id: channel.team_id }, broadcast: broadcast({ user_id: channel.creator_id }), at }];
  }

  private fromNotice(n: ChatNotice, l: Loaded): WsEventMessage[] {
    const at = n.at;
    if (n.kind === 'user_updated') return this.userUpdated(n.user_id, l, at);
    if (n.kind === 'ephemeral_post') {
      return [{ event: WsEventName.EphemeralMessage, data: { post: JSON.stringify(n.post) }, broadcast: broadcast({ user_id: n.user_id, channel_id: n.post.channel_id }), at }];
    }
    if (n.kind === 'team_member_added') {
      return [{ event: WsEventName.AddedToTeam, data: { team_id: n.team_id, user_id: n.user_id }, broadcast: broadcast({ user_id: n.user_id }), at }];
    }
    // The team hears that the user left; the user, no longer a member, is told separately.
    return [
      { event: WsEventName.LeaveTeam, data: { user_id: n.user_id, team_id: n.team_id }, broadcast: broadcast({ team_id: n.team_id }), at },
      { event: WsEventName.LeaveTeam, data: { user_id: n.user_id, team_id: n.team_id }, broadcast: broadcast({ user_id: n.user_id }), at },
    ];
  }

  /** The channel's set of remotes changed (an invite confirmed, a remote removed): its members refetch them. */
  private fromShare(e: SharedChannelEvent): WsEventMessage {
    return { event: WsEventName.SharedChannelRemoteUpdated, data: { channel_id: e.channel_id }, broadcast: broadcast({ channel_id: e.channel_id }), at: e.at };
  }

  private fromConnectionState(e: ConnectionStateChange): WsEventMessage {
    return {
      event: WsEventName.RemoteClusterStatusChanged,
      data: { remote_id: e.remote_id, online: e.online },
      broadcast: broadcast({ contains_sensitive_data: true }),
      at: e.at,
    };
  }
}
