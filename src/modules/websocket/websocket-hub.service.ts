import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { isValidId, newId } from '../../common/ids.js';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { AuthService } from '../auth/auth.service.js';
import { ChannelAccess } from '../chat/channels/channel-access.service.js';
import { WebConn, type ConnSession } from './web-conn.js';
import { WebSocketBus, type EventBatch } from './websocket-bus.service.js';
import { CloseCode, PING_INTERVAL_MS, PONG_WAIT_MS, SERVER_VERSION, SESSION_RECHECK_MS, WsEventName } from './websocket.constants.js';
import { broadcast, EncodedEvent, type Memberships, shouldDeliver } from './websocket-event.js';
import { WebSocketMetrics } from './websocket.metrics.js';

/** What a reconnecting client asks for: `?connection_id=...&sequence_number=...`. */
export interface ResumeRequest {
  connectionId: string;
  /** The sequence number the client expects next. */
  sequence: number;
}

/** Membership lookups of one delivery pass are retried this often before the pass is given up. */
const MEMBERSHIP_ATTEMPTS = 3;

/**
 * This replica's connections and the delivery of every event read from the bus (Mattermost's Hub). Channel and
 * team events are routed by the database's memberships, read once per batch for the users connected here and only
 * after the event was read (so after its change committed): a user removed before a post was made never receives
 * that post. Batches are delivered one after the other, in stream order.
 *
 * Bounded cost: a connection's unsent bytes are capped (WEBSOCKET_SEND_BUFFER_BYTES; past it the client is dropped
 * and, like Mattermost, cannot resume), and a dropped connection keeps at most WEBSOCKET_RESUME_BUFFER events for at
 * most WEBSOCKET_RESUME_WINDOW_MS.
 */
@Injectable()
export class WebSocketHub implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebSocketHub.name);
  private readonly conns = new Map<string, WebConn>();
  private readonly byUser = new Map<string, Set<WebConn>>();
  private delivering: Promise<void> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly bus: WebSocketBus,
    private readonly access: ChannelAccess,
    private readonly auth: AuthService,
    private readonly metrics: WebSocketMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    metrics.setCounts(() => {
      let active = 0;
      for (const c of this.conns.values()) if (c.socket) active++;
      return { active, resumable: this.conns.size - active };
    });
  }

  onApplicationBootstrap(): void {
    this.bus.onBatch((batch) => this.deliver(batch));
    this.timers = [
      setInterval(() => this.keepAlive(), PING_INTERVAL_MS),
      setInterval(() => this.reap(), Math.min(PING_INTERVAL_MS, Math.max(1_000, this.config.websocket.resumeWindowMs))),
      setInterval(() => void this.recheckSessions(), SESSION_RECHECK_MS),
    ];
    for (const t of this.timers) t.unref();
  }

  onApplicationShutdown(): void {
    for (const t of this.timers) clearInterval(t);
  }

  get size(): number {
    return this.conns.size;
  }

  /** An authenticated socket: a new connection with its hello, or a resumed one (see WebConn). */
  open(socket: WebSocket, session: ConnSession, resume?: ResumeRequest): WebConn {
    const existing = resume && isValidId(resume.connectionId) ? this.conns.get(resume.connectionId) : undefined;
    if (existing && existing.userId === session.auth.userId) {
      const previous = existing.socket;
      if (previous) {
        // The client reconnected before this replica noticed its old socket was gone.
        existing.detach();
        previous.close(CloseCode.Replaced, 'resumed on a newer socket');
      }
      existing.session = session;
      const { result, slow } = existing.resume(socket, resume!.sequence);
      if (result !== 'gap') {
        this.metrics.reconnects.inc({ result });
        if (slow) this.dropSlow(existing);
        return existing;
      }
      // Mattermost: the events the client missed are gone, so it gets a new connection id and hello and refetches.
      this.conns.delete(existing.connectionId);
      existing.reset(newId());
      this.conns.set(existing.connectionId, existing);
      existing.attach(socket);
      this.metrics.reconnects.inc({ result: 'fresh' });
      this.push(existing, this.hello(existing));
      return existing;
    }
    if (resume) this.metrics.reconnects.inc({ result: 'fresh' });
    const conn = new WebConn(newId(), session, this.config.websocket.resumeBufferEvents, this.config.websocket.sendBufferBytes);
    conn.attach(socket);
    this.conns.set(conn.connectionId, conn);
    let mine = this.byUser.get(conn.userId);
    if (!mine) this.byUser.set(conn.userId, (mine = new Set()));
    mine.add(conn);
    this.push(conn, this.hello(conn));
    return conn;
  }

  /** The socket closed: the connection stays, resumable, for WEBSOCKET_RESUME_WINDOW_MS. */
  detach(conn: WebConn, socket: WebSocket): void {
    if (conn.socket !== socket) return;
    conn.detach();
    if (this.config.websocket.resumeWindowMs === 0) this.remove(conn);
  }

  private hello(conn: WebConn): EncodedEvent {
    return new EncodedEvent({
      event: WsEventName.Hello,
      data: { connection_id: conn.connectionId, server_version: `${SERVER_VERSION}.0.0.false`, server_hostname: '' },
      broadcast: broadcast({ user_id: conn.userId }),
    });
  }

  /** Every batch read from the bus, one after the other. */
  deliver(batch: EventBatch): Promise<void> {
    const next = this.delivering.then(() => this.deliverNow(batch));
    this.delivering = next.catch(() => undefined);
    return next;
  }

  private async deliverNow(batch: EventBatch): Promise<void> {
    if (!this.conns.size || !batch.events.length) return;
    const events = batch.events.map((m) => new EncodedEvent(m));
    let memberships: Memberships;
    try {
      memberships = await this.memberships(events);
    } catch (err) {
      // Without memberships nothing can be routed safely; clients that silently missed events would never know,
      // so every connection starts over (the client reconnects, gets a new hello and refetches).
      this.logger.error({ err, events: events.length }, 'could not resolve memberships: resetting every WebSocket connection');
      this.metrics.dropped.inc({ reason: 'membership_lookup' }, events.length);
      for (const conn of [...this.conns.values()]) this.remove(conn, CloseCode.InternalError, 'events lost');
      return;
    }
    const now = Date.now();
    for (const ev of events) {
      const b = ev.msg.broadcast;
      const targets = b.connection_id ? [this.conns.get(b.connection_id)] : b.user_id ? [...(this.byUser.get(b.user_id) ?? [])] : [...this.conns.values()];
      for (const conn of targets) {
        if (!conn || !shouldDeliver({ userId: conn.userId, connectionId: conn.connectionId, isSystemAdmin: conn.isSystemAdmin }, b, memberships)) continue;
        this.push(conn, ev);
      }
      if (ev.msg.at) this.metrics.deliveryLatency.observe(Math.max(0, now - ev.msg.at) / 1000);
    }
  }

  private push(conn: WebConn, ev: EncodedEvent): void {
    switch (conn.push(ev)) {
      case 'sent':
        this.metrics.delivered.inc({ event: ev.event });
        break;
      case 'slow':
        this.metrics.delivered.inc({ event: ev.event });
        this.dropSlow(conn);
        break;
      case 'lost':
        this.remove(conn);
        break;
      case 'kept':
        break;
    }
  }

  private dropSlow(conn: WebConn): void {
    this.metrics.slowClients.inc();
    this.logger.warn({ user_id: conn.userId, connection_id: conn.connectionId, buffered: conn.socket?.bufferedAmount }, 'slow WebSocket client dropped');
    // terminate, not close: a close frame would queue behind the bytes the client is not reading.
    const socket = conn.socket;
    this.remove(conn);
    socket?.terminate();
  }

  /** Forgets a connection (no resume); closes its socket if it has one. */
  private remove(conn: WebConn, code?: number, reason?: string): void {
    if (this.conns.get(conn.connectionId) === conn) this.conns.delete(conn.connectionId);
    const mine = this.byUser.get(conn.userId);
    mine?.delete(conn);
    if (mine && !mine.size) this.byUser.delete(conn.userId);
    const socket = conn.socket;
    conn.detach();
    if (socket && code) socket.close(code, reason);
  }

  /** Channel and team memberships of the users connected here, for the channels and teams these events go to. */
  private async memberships(events: EncodedEvent[]): Promise<Memberships> {
    const channelIds = new Set<string>();
    const teamIds = new Set<string>();
    for (const { msg } of events) {
      const b = msg.broadcast;
      if (b.connection_id || b.user_id) continue;
      if (b.channel_id) channelIds.add(b.channel_id);
      else if (b.team_id) teamIds.add(b.team_id);
    }
    const userIds = [...this.byUser.keys()];
    let lastErr: unknown;
    for (let attempt = 1; attempt <= MEMBERSHIP_ATTEMPTS; attempt++) {
      try {
        const [channelRows, teamRows] = await Promise.all([
          channelIds.size ? this.access.channelMembersAmong([...channelIds], userIds) : [],
          teamIds.size ? this.access.teamMembersAmong([...teamIds], userIds) : [],
        ]);
        const channels = new Set(channelRows.map((r) => `${r.channel_id}:${r.user_id}`));
        const teams = new Set(teamRows.map((r) => `${r.team_id}:${r.user_id}`));
        return {
          inChannel: (channelId, userId) => channels.has(`${channelId}:${userId}`),
          inTeam: (teamId, userId) => teams.has(`${teamId}:${userId}`),
        };
      } catch (err) {
        lastErr = err;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
    throw lastErr;
  }

  /** Protocol pings; a socket that has been silent too long is closed (its connection stays resumable). */
  private keepAlive(): void {
    const now = Date.now();
    for (const conn of this.conns.values()) {
      const socket = conn.socket;
      if (!socket) continue;
      if (now - conn.lastSeenAt > PONG_WAIT_MS) socket.terminate();
      else socket.ping();
    }
  }

  /** Dropped connections past the resume window are forgotten. */
  private reap(): void {
    const cutoff = Date.now() - this.config.websocket.resumeWindowMs;
    for (const conn of [...this.conns.values()]) {
      if (!conn.socket && conn.detachedAt <= cutoff) this.remove(conn);
    }
  }

  /** Logged out, revoked or expired sessions lose their connections; changed roles are picked up. */
  private async recheckSessions(): Promise<void> {
    const byToken = new Map<string, WebConn[]>();
    for (const conn of this.conns.values()) {
      const list = byToken.get(conn.session.token);
      if (list) list.push(conn);
      else byToken.set(conn.session.token, [conn]);
    }
    const tokens = [...byToken.keys()];
    for (let i = 0; i < tokens.length; i += 20) {
      await Promise.all(
        tokens.slice(i, i + 20).map(async (token) => {
          try {
            const auth = await this.auth.authenticate(token);
            for (const conn of byToken.get(token)!) {
              if (!auth) this.remove(conn, CloseCode.PolicyViolation, 'session expired');
              else conn.session = { auth, token };
            }
          } catch (err) {
            this.logger.warn({ err }, 'could not re-check a WebSocket session');
          }
        }),
      );
    }
  }

  /** Graceful shutdown: every socket is told the server is going away (1001), which clients reconnect on. */
  async closeAll(sockets: Iterable<WebSocket>, graceMs = 2_000): Promise<void> {
    const open = [...sockets];
    await Promise.all(
      open.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.readyState === s.CLOSED) return resolve();
            const t = setTimeout(() => {
              s.terminate();
              resolve();
            }, graceMs);
            s.once('close', () => {
              clearTimeout(t);
              resolve();
            });
            s.close(CloseCode.GoingAway, 'server shutting down');
          }),
      ),
    );
    this.conns.clear();
    this.byUser.clear();
  }
}
