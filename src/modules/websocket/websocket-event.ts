/**
 * The shape of events on the wire (Mattermost's model.WebSocketEvent): `{event, data, broadcast, seq}`, and the
 * rule that decides which connection receives which event (WebConn.ShouldSendEvent).
 */

/** Mattermost's WebsocketBroadcast, as it is serialised to clients. */
export interface WsBroadcast {
  /** Users who must not receive the event. */
  omit_users: Record<string, boolean> | null;
  /** Only this user's connections. */
  user_id: string;
  /** Only members of this channel. */
  channel_id: string;
  /** Only active members of this team. */
  team_id: string;
  /** Only this connection. */
  connection_id: string;
  /** Every connection but this one. */
  omit_connection_id: string;
  /** Only users who are not system admins (they get a fuller copy). */
  contains_sanitized_data?: boolean;
  /** Only system admins. */
  contains_sensitive_data?: boolean;
}

export function broadcast(to: Partial<WsBroadcast>): WsBroadcast {
  const b: WsBroadcast = {
    omit_users: to.omit_users ?? null,
    user_id: to.user_id ?? '',
    channel_id: to.channel_id ?? '',
    team_id: to.team_id ?? '',
    connection_id: to.connection_id ?? '',
    omit_connection_id: to.omit_connection_id ?? '',
  };
  if (to.contains_sanitized_data) b.contains_sanitized_data = true;
  if (to.contains_sensitive_data) b.contains_sensitive_data = true;
  return b;
}

/** One event as the replica that caused it publishes it to every replica. */
export interface WsEventMessage {
  event: string;
  data: Record<string, unknown>;
  broadcast: WsBroadcast;
  /**
   * `posted` only: the users the post mentions. Each of them gets `mentions: "[\"<their id>\"]"` in data, and no one
   * learns who else was mentioned (Mattermost's per-connection hook does the same).
   */
  mentions?: string[];
  /** When the change committed (ms), for the delivery-latency metric. */
  at?: number;
}

function prefixOf(event: string, data: Record<string, unknown>, b: WsBroadcast): string {
  return `{"event":${JSON.stringify(event)},"data":${JSON.stringify(data)},"broadcast":${JSON.stringify(b)},"seq":`;
}

/**
 * An event ready to send: its JSON is built once, up to `"seq":`, and every connection appends its own sequence
 * number. Connections keep a reference to it for resumption, not a copy.
 */
export class EncodedEvent {
  readonly prefix: string;
  private readonly mentioned: ReadonlySet<string> | undefined;
  private variants: Map<string, string> | undefined;

  constructor(readonly msg: WsEventMessage) {
    this.prefix = prefixOf(msg.event, msg.data, msg.broadcast);
    this.mentioned = msg.mentions?.length ? new Set(msg.mentions) : undefined;
  }

  get event(): string {
    return this.msg.event;
  }

  frame(seq: number, userId: string): string {
    return `${this.prefixFor(userId)}${seq}}`;
  }

  private prefixFor(userId: string): string {
    if (!this.mentioned?.has(userId)) return this.prefix;
    this.variants ??= new Map();
    let p = this.variants.get(userId);
    if (!p) {
      p = prefixOf(this.msg.event, { ...this.msg.data, mentions: JSON.stringify([userId]) }, this.msg.broadcast);
      this.variants.set(userId, p);
    }
    return p;
  }
}

/** Who a connection belongs to, as far as routing needs it. */
export interface Recipient {
  userId: string;
  connectionId: string;
  isSystemAdmin: boolean;
}

/** Channel and team memberships of the connected users, resolved for one batch of events. */
export interface Memberships {
  inChannel(channelId: string, userId: string): boolean;
  inTeam(teamId: string, userId: string): boolean;
}

/** Mattermost's WebConn.ShouldSendEvent, in its order of checks. */
export function shouldDeliver(r: Recipient, b: WsBroadcast, m: Memberships): boolean {
  if (b.contains_sanitized_data && b.contains_sensitive_data) return false;
  if (b.contains_sanitized_data && r.isSystemAdmin) return false;
  if (b.contains_sensitive_data && !r.isSystemAdmin) return false;
  if (b.connection_id) return b.connection_id === r.connectionId;
  if (b.omit_connection_id && b.omit_connection_id === r.connectionId) return false;
  if (b.user_id) return b.user_id === r.userId;
  if (b.omit_users?.[r.userId]) return false;
  if (b.channel_id) return m.inChannel(b.channel_id, r.userId);
  if (b.team_id) return m.inTeam(b.team_id, r.userId);
  return true;
}
