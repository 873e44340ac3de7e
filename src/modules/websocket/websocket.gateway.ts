import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type BeforeApplicationShutdown, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { AppError } from '../../common/app-error.js';
import { appErrorBody, toAppError } from '../../common/app-error.filter.js';
import { isValidId } from '../../common/ids.js';
import { requestIdFor } from '../../common/request-id.js';
import { AuthErrors } from '../auth/auth.errors.js';
import { AuthService } from '../auth/auth.service.js';
import { extractClientToken } from '../auth/request-token.js';
import { ChannelAccess } from '../chat/channels/channel-access.service.js';
import { UsersProfileService } from '../chat/users/users-profile.service.js';
import type { WebConn } from './web-conn.js';
import { WebSocketEventsService } from './websocket-events.service.js';
import { broadcast } from './websocket-event.js';
import { type ResumeRequest, WebSocketHub } from './websocket-hub.service.js';
import { AUTH_TIMEOUT_MS, CloseCode, MAX_CLIENT_FRAME_BYTES, SERVER_VERSION, WEBSOCKET_PATH, WsEventName } from './websocket.constants.js';

/** One socket's protocol state; `conn` is set once it has authenticated. */
interface SocketState {
  socket: WebSocket;
  conn: WebConn | undefined;
  resume: ResumeRequest | undefined;
  authTimer: NodeJS.Timeout | undefined;
  /** Frames are handled one after the other, as Mattermost's read pump does: a ping sent right after the
   * authentication challenge is answered once the challenge is done. */
  queue: Promise<void>;
}

/** A client's request frame (Mattermost's WebSocketRequest). */
interface ClientRequest {
  seq: number;
  action: string;
  data?: Record<string, unknown> | null;
}

const wsError = (id: string, message: string, status: number) => new AppError(id, message, status);

/** `?connection_id=...&sequence_number=...` of a reconnecting client; ignored unless both are well-formed. */
export function resumeRequestOf(query: URLSearchParams): ResumeRequest | undefined {
  const connectionId = query.get('connection_id') ?? '';
  const raw = query.get('sequence_number') ?? '';
  if (!isValidId(connectionId) || !/^\d{1,15}$/.test(raw)) return undefined;
  return { connectionId, sequence: Number(raw) };
}

/**
 * `GET /api/v4/websocket` with Mattermost's protocol, on the Nest HTTP server's `upgrade` event (plain JSON frames
 * through the `ws` package). A client authenticates with its session cookie or `Authorization` header on the
 * upgrade, or with an `authentication_challenge` action within AUTH_TIMEOUT_MS (the query's access_token is not
 * accepted here); it then gets `hello` and the events meant for it (WebSocketHub). Actions answer with `seq_reply`:
 * `ping`, `user_typing` (broadcast as `typing`), `get_statuses_by_ids`, and the no-ops Mattermost clients send.
 */
@Injectable()
export class WebSocketGateway implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebSocketGateway.name);
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME_BYTES, perMessageDeflate: false, clientTracking: true });
  private server: Server | undefined;
  private stopping = false;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly hub: WebSocketHub,
    private readonly events: WebSocketEventsService,
    private readonly auth: AuthService,
    private readonly access: ChannelAccess,
    private readonly profiles: UsersProfileService,
  ) {}

  onApplicationBootstrap(): void {
    this.server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    this.server.on('upgrade', this.onUpgrade);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.server?.off('upgrade', this.onUpgrade);
    await this.hub.closeAll(this.wss.clients);
    await this.events.drain();
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== WEBSOCKET_PATH && url.pathname !== `${WEBSOCKET_PATH}/`) {
      return refuseUpgrade(socket, req, AppError.notFound('api.context.404.app_error', 'Sorry, we could not find the page.'));
    }
    if (this.stopping) return refuseUpgrade(socket, req, new AppError('app.server_busy', 'The server is shutting down.', 503));
    if (!sameOrigin(req)) return refuseUpgrade(socket, req, new AppError('api.web_socket.connect.upgrade.app_error', 'The origin of this request is not allowed.', 403));
    // Header or cookie only: a token in the query string ends up in logs and proxies.
    const token = extractClientToken(req.headers);
    const resume = resumeRequestOf(url.searchParams);
    const authenticated = token ? this.auth.authenticate(token) : Promise.resolve(null);
    authenticated.then(
      (auth) => {
        if (token && !auth) return refuseUpgrade(socket, req, AuthErrors.sessionExpired());
        this.wss.handleUpgrade(req, socket, head, (ws) => this.onOpen(ws, auth && token ? { auth, token } : undefined, resume));
      },
      (err: unknown) => {
        this.logger.error({ err }, 'WebSocket upgrade failed');
        refuseUpgrade(socket, req, toAppError(err));
      },
    );
  };

  private onOpen(ws: WebSocket, session: { auth: NonNullable<Awaited<ReturnType<AuthService['authenticate']>>>; token: string } | undefined, resume: ResumeRequest | undefined): void {
    const state: SocketState = { socket: ws, conn: undefined, resume, authTimer: undefined, queue: Promise.resolve() };
    ws.on('error', () => undefined);
    ws.on('close', () => {
      clearTimeout(state.authTimer);
      if (state.conn) this.hub.detach(state.conn, ws);
    });
    ws.on('pong', () => {
      if (state.conn) state.conn.lastSeenAt = Date.now();
    });
    ws.on('message', (data, isBinary) => this.onFrame(state, data, isBinary));
    if (this.stopping) {
      ws.close(CloseCode.GoingAway, 'server shutting down');
      return;
    }
    if (session) state.conn = this.hub.open(ws, session, resume);
    else {
      state.authTimer = setTimeout(() => ws.close(CloseCode.PolicyViolation, 'authentication required'), AUTH_TIMEOUT_MS);
      state.authTimer.unref();
    }
  }

  private onFrame(state: SocketState, data: RawData, isBinary: boolean): void {
    if (state.conn) state.conn.lastSeenAt = Date.now();
    let req: ClientRequest;
    try {
      if (isBinary) throw new Error('binary frames are not supported');
      req = JSON.parse(data.toString()) as ClientRequest;
      if (!req || typeof req !== 'object') throw new Error('not an object');
    } catch {
      // Mattermost closes a connection whose frame it cannot decode.
      state.socket.close(CloseCode.UnsupportedData, 'frames must be JSON objects');
      return;
    }
    state.queue = state.queue.then(() =>
      this.handle(state, req).catch((err: unknown) => {
        const appError = toAppError(err);
        if (appError.statusCode >= 500) this.logger.error({ err, action: req.action }, 'WebSocket action failed');
        this.reply(state, req.seq, appError);
      }),
    );
  }

  private async handle(state: SocketState, req: ClientRequest): Promise<void> {
    if (typeof req.action !== 'string' || !req.action) throw wsError('api.web_socket_router.no_action.app_error', 'No websocket action.', 400);
    if (!Number.isSafeInteger(req.seq) || req.seq <= 0) throw wsError('api.web_socket_router.bad_seq.app_error', 'Invalid sequence for WebSocket message.', 400);
    const data = req.data && typeof req.data === 'object' ? req.data : {};

    if (req.action === 'authentication_challenge') {
      // Mattermost ignores a second challenge on an authenticated connection.
      if (state.conn) return;
      const token = data.token;
      const auth = typeof token === 'string' ? await this.auth.authenticate(token) : null;
      if (!auth || state.socket.readyState !== WebSocket.OPEN) {
        state.socket.close(CloseCode.PolicyViolation, 'authentication failed');
        return;
      }
      clearTimeout(state.authTimer);
      state.conn = this.hub.open(state.socket, { auth, token: token as string }, state.resume);
      this.reply(state, req.seq);
      return;
    }
    const conn = state.conn;
    if (!conn) throw wsError('api.web_socket_router.not_authenticated.app_error', 'The WebSocket connection is not authenticated.', 401);

    switch (req.action) {
      case 'ping':
        return this.reply(state, req.seq, undefined, { text: 'pong', version: SERVER_VERSION, server_time: Date.now(), node_id: '' });
      case 'user_typing': {
        const channelId = data.channel_id;
        const parentId = typeof data.parent_id === 'string' ? data.parent_id : '';
        if (!isValidId(channelId) || (parentId && !isValidId(parentId))) throw invalidParam(req.action, 'channel_id');
        // Only those who may post in the channel type in it (Mattermost: create_post on the channel).
        await this.access.writable(conn.session.auth, channelId, 'post').catch(() => {
          throw invalidParam(req.action, 'channel_id');
        });
        this.events.raise({
          event: WsEventName.Typing,
          data: { parent_id: parentId, user_id: conn.userId },
          broadcast: broadcast({ channel_id: channelId, omit_users: { [conn.userId]: true } }),
          at: Date.now(),
        });
        return this.reply(state, req.seq);
      }
      case 'get_statuses_by_ids': {
        const ids = Array.isArray(data.user_ids) ? data.user_ids : null;
        if (!ids || !ids.length || ids.length > 1000 || !ids.every(isValidId)) throw invalidParam(req.action, 'user_ids');
        const statuses = await this.profiles.statusesOf([...new Set(ids)]);
        return this.reply(state, req.seq, undefined, Object.fromEntries(statuses.map((s) => [s.user_id, s.status])));
      }
      // Presence, activity and notification acknowledgements change nothing on this server: acknowledged.
      case 'presence':
      case 'user_update_active_status':
      case 'posted_notify_ack':
        return this.reply(state, req.seq);
      default:
        throw wsError('api.web_socket_router.bad_action.app_error', 'Unknown WebSocket action.', 400);
    }
  }

  /** Mattermost's WebSocketResponse: `{status, seq_reply, data?, error?}`. */
  private reply(state: SocketState, seq: number, error?: AppError, data?: Record<string, unknown>): void {
    if (state.socket.readyState !== WebSocket.OPEN) return;
    const body: Record<string, unknown> = { status: error ? 'FAIL' : 'OK', seq_reply: Number.isSafeInteger(seq) ? seq : 0 };
    if (data) body.data = data;
    if (error) body.error = { ...appErrorBody(error, ''), detailed_error: '' };
    state.socket.send(JSON.stringify(body));
  }
}

function invalidParam(action: string, name: string): AppError {
  return new AppError('api.websocket_handler.invalid_param.app_error', `Invalid ${name} parameter for ${action}.`, 400);
}

/** Browsers send Origin: it must name this host (gorilla/websocket's default check, which Mattermost relies on). */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  try {
    return new URL(origin).host.toLowerCase() === (req.headers.host ?? '').toLowerCase();
  } catch {
    return false;
  }
}

/** An HTTP error instead of the upgrade, with Mattermost's AppError body. */
function refuseUpgrade(socket: Duplex, req: IncomingMessage, err: AppError): void {
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify(appErrorBody(err, requestIdFor(req)));
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' }[err.statusCode] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${err.statusCode} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
