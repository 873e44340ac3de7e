import { trimTrailing } from '../../common/strings.js';
import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { AppError } from '../../common/app-error.js';
import { newId } from '../../common/ids.js';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { TransactionRunner } from '../../database/transaction-runner.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { RateLimits } from '../../rate-limit/rate-limits.service.js';
import type { AuthContext } from '../auth/auth-context.js';
import { safeEqual } from '../../common/secrets.js';
import { hashToken, newOpaqueToken } from '../auth/tokens.js';
import { ChannelAccess } from '../chat/channels/channel-access.service.js';
import type { AfterDeletion, ConnectionDeletionStep } from './connection-deletion.js';
import {
  parseInvitePayload,
  parsePingPayload,
  type RemoteClusterFrame,
  type RemoteClusterPing,
  type RemoteClusterResponse,
} from './dto/frame.dto.js';
import type {
  AcceptRemoteClusterInviteDto,
  CreateRemoteClusterDto,
  ListRemoteClustersQuery,
  PatchRemoteClusterDto,
} from './dto/remote-cluster.dto.js';
import { PeerAddressDeniedError, PeerAddressPolicy, parsePeerUrl, PeerUrlError, urlHost } from './peer-address-policy.js';
import { decryptInvite, encryptInvite, INVITE_VERSION, InviteError, type RemoteClusterInvite } from './invite-crypto.js';
import { RemoteClusterHeartbeatService } from './remote-cluster-heartbeat.service.js';
import { type PeerTarget, RemoteClusterClient, RemoteClusterTransportError, type StreamedBody, type UploadReply } from './remote-cluster.client.js';
import { isConfirmed, RemoteClusterEntity, SITE_URL_PENDING_PREFIX } from './remote-cluster.entity.js';
import { RemoteClusterErrors } from './remote-cluster.errors.js';
import { type RemoteClusterJson, toRemoteClusterJson } from './remote-cluster.mapper.js';
import { type RemoteClusterListFilter, RemoteClusterRepository } from './remote-cluster.repository.js';
import { TopicRegistry } from './topic-registry.service.js';

/**
 * Mattermost's InviteExpiresAfter. Mattermost measures it from the record's create_at, so a code re-issued late is
 * nearly dead at birth (protocol 12.4); here it runs from the issue of the current code.
 */
export const INVITE_EXPIRES_AFTER_MS = 48 * 60 * 60 * 1000;

const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const GENERATED_PASSWORD_LENGTH = 16;

/** Mattermost's SecureRandString: uniform over the alphabet (rejection sampling, no modulo bias). */
function generatePassword(): string {
  let out = '';
  while (out.length < GENERATED_PASSWORD_LENGTH) {
    for (const byte of randomBytes(32)) {
      if (byte < 248 && out.length < GENERATED_PASSWORD_LENGTH) out += PASSWORD_ALPHABET[byte % 62];
    }
  }
  return out;
}

export interface RemoteClusterWithInvite {
  remote_cluster: RemoteClusterJson;
  invite: string;
  /** Only when the server generated it. */
  password?: string;
}

/**
 * Secure connections: the admin operations, both halves of the invitation handshake (sections 2.1-2.5), the
 * inbound /ping and /msg, and the lookups other modules use. Tokens peers present are stored hashed; the token
 * verifier and rotation live in RemoteClusterTokens. Records leave this service only sanitised (tokens blank).
 */
@Injectable()
export class RemoteClusterService {
  private readonly logger = new Logger(RemoteClusterService.name);
  private readonly received: Counter<'remote_id'>;
  private readonly deletionSteps: ConnectionDeletionStep[] = [];

  constructor(
    private readonly remotes: RemoteClusterRepository,
    private readonly client: RemoteClusterClient,
    private readonly heartbeat: RemoteClusterHeartbeatService,
    private readonly topics: TopicRegistry,
    private readonly limits: RateLimits,
    private readonly chat: ChannelAccess,
    private readonly policy: PeerAddressPolicy,
    private readonly tx: TransactionRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    this.received = metrics.counter('remote_cluster_msg_received_total', 'Frames received from remote clusters (/msg and /ping)', [
      'remote_id',
    ]);
  }

  // ---- admin API --------------------------------------------------------------------------------------------

  /** Section 2.1: a pending record and the invite code for it. */
  async create(auth: AuthContext, dto: CreateRemoteClusterDto): Promise<RemoteClusterWithInvite> {
    await this.assertTeam(dto.default_team_id);
    // T1, the invite's token: only its hash is stored, the code carries it.
    const inviteToken = newOpaqueToken();
    const rc = this.newRecord(auth, {
      remote_id: newId(),
      name: dto.name,
      display_name: dto.display_name,
      site_url: SITE_URL_PENDING_PREFIX + newId(),
      default_team_id: dto.default_team_id,
      token_hash: hashToken(inviteToken),
      remote_token: '',
    });
    if (!(await this.remotes.insertIfUnique(rc))) throw RemoteClusterErrors.notUnique();
    const password = dto.password || generatePassword();
    const invite = await this.sealInvite(rc, password, inviteToken);
    return { remote_cluster: toRemoteClusterJson(rc), invite, ...(dto.password ? {} : { password }) };
  }

  /**
   * A new code for a record that is still pending, expired or not; its 48 h run from now. Mattermost seals the same
   * token again; we keep only its hash, so the new code carries a new token and earlier codes stop working.
   */
  async generateInvite(remoteId: string, password: string): Promise<string> {
    const rc = await this.remotes.findActiveById(remoteId);
    if (!rc) throw RemoteClusterErrors.notFound();
    if (isConfirmed(rc)) throw RemoteClusterErrors.alreadyConfirmed();
    const inviteToken = newOpaqueToken();
    if (!(await this.remotes.replaceInviteTokenHash(remoteId, hashToken(inviteToken)))) throw RemoteClusterErrors.alreadyConfirmed();
    return this.sealInvite(rc, password, inviteToken);
  }

  /**
   * Section 2.3, the acceptor's half: open the invite, save the connection with fresh tokens, and have the
   * inviter confirm it. If the inviter refuses or cannot be reached the record is removed again.
   */
  async acceptInvite(auth: AuthContext, dto: AcceptRemoteClusterInviteDto, client: string): Promise<RemoteClusterJson> {
    await this.assertTeam(dto.default_team_id);
    const invite = await this.openInvite(dto.invite, dto.password, client);
    await this.assertPeerUrl(invite.site_url, 'the invite\'s site_url');
    if (trimTrailing(invite.site_url, '/') === this.config.http.siteUrl) {
      throw AppError.invalidParam('invite', 'the invite was issued by this server');
    }

    const version = invite.version ?? 0;
    // T2, what the inviter will present to us: sent once in the confirmation, stored hashed.
    const inboundToken = newOpaqueToken();
    const rc = this.newRecord(auth, {
      remote_id: invite.remote_id,
      name: dto.name,
      display_name: dto.display_name,
      site_url: invite.site_url,
      default_team_id: dto.default_team_id,
      token_hash: hashToken(inboundToken),
      // v>=2 inviters take a new token from us (the invite's token is then retired); older ones keep theirs.
      remote_token: version >= 2 ? newOpaqueToken() : invite.token,
    });
    if (!(await this.remotes.insertIfUnique(rc))) {
      throw RemoteClusterErrors.notUnique('this invitation was already accepted, or a connection to that server exists');
    }

    const confirmation: RemoteClusterInvite = {
      remote_id: rc.remote_id,
      remote_team_id: '',
      site_url: this.config.http.siteUrl,
      token: inboundToken,
      refreshed_token: rc.remote_token,
      version: INVITE_VERSION,
    };
    try {
      await this.client.confirmInvite({ remote_id: rc.remote_id, site_url: invite.site_url, token: invite.token }, confirmation);
    } catch (err) {
      await this.remotes.deleteUnconfirmed(rc.remote_id);
      this.client.forget(rc.remote_id);
      if (!(err instanceof RemoteClusterTransportError)) throw err;
      // The log keeps the socket detail; the admin (any admin, on any URL an invite names) gets only the class.
      this.logger.warn({ remote_id: rc.remote_id, kind: err.kind, reason: err.reason, err: err.message }, 'the inviting server did not confirm');
      const detail = err.describe('the inviting server');
      if (err.reason === 'denied') throw RemoteClusterErrors.siteUrlNotAllowed(detail);
      // 400 when the inviter understood and refused; 502 when it could not be reached or is not a Mattermost server.
      throw err.reason === 'rejected' ? RemoteClusterErrors.acceptRejected(detail) : RemoteClusterErrors.acceptUnreachable(detail);
    }
    await this.heartbeat.pingSoon(rc.remote_id);
    return toRemoteClusterJson(rc);
  }

  async list(query: ListRemoteClustersQuery): Promise<RemoteClusterJson[]> {
    const filter: RemoteClusterListFilter = {
      includeDeleted: query.include_deleted,
      onlyConfirmed: query.only_confirmed,
      onlyPlugins: query.only_plugins,
      excludePlugins: query.exclude_plugins,
      onlineSince: query.exclude_offline ? Date.now() - this.config.remoteCluster.offlineAfterMs : undefined,
      creatorId: query.creator_id,
      pluginId: query.plugin_id,
      topic: query.topic,
      inChannel: query.in_channel,
      notInChannel: query.not_in_channel,
    };
    const rows = await this.remotes.list(filter, query.page * query.per_page, query.per_page);
    return rows.map(toRemoteClusterJson);
  }

  /** Deleted records included, as Mattermost's GET shows them. */
  async get(remoteId: string): Promise<RemoteClusterJson> {
    const rc = await this.remotes.findById(remoteId);
    if (!rc) throw RemoteClusterErrors.notFound();
    return toRemoteClusterJson(rc);
  }

  async patch(remoteId: string, dto: PatchRemoteClusterDto): Promise<RemoteClusterJson> {
    const fields: Partial<Pick<RemoteClusterEntity, 'display_name' | 'default_team_id'>> = {};
    if (typeof dto.display_name === 'string') fields.display_name = dto.display_name;
    if (typeof dto.default_team_id === 'string') {
      if (dto.default_team_id !== '') await this.assertTeam(dto.default_team_id);
      fields.default_team_id = dto.default_team_id;
    }
    if (!(await this.remotes.patch(remoteId, fields))) throw RemoteClusterErrors.notFound();
    const rc = await this.remotes.findActiveById(remoteId);
    if (!rc) throw RemoteClusterErrors.notFound();
    return toRemoteClusterJson(rc);
  }

  /**
   * Deletes a connection and, in the same transaction, runs every registered deletion step (the shared channels that
   * were shared only with it are unshared, its synthetic users optionally deactivated): a failure anywhere leaves
   * nothing done. What the steps leave for after the commit (events, the peer's notices, queued and retried) runs
   * once it has committed. Mattermost only soft-deletes the record (its MM-68237 fix came in 2026).
   */
  async delete(remoteId: string, opts: { deactivateUsers?: boolean } = {}): Promise<void> {
    const rc = await this.remotes.findActiveById(remoteId);
    if (!rc) throw RemoteClusterErrors.notFound();
    const deletion = { remote: toRemoteClusterJson(rc), deactivateUsers: opts.deactivateUsers === true, at: Date.now() };
    const after = await this.tx.run(async (tx) => {
      if (!(await this.remotes.softDelete(tx, remoteId, deletion.at))) throw RemoteClusterErrors.notFound();
      const out: AfterDeletion[] = [];
      for (const step of this.deletionSteps) {
        const next = await step(tx, deletion);
        if (next) out.push(next);
      }
      return out;
    });
    this.client.forget(remoteId);
    this.logger.log({ remote_id: remoteId, deactivate_users: deletion.deactivateUsers }, 'secure connection deleted');
    for (const next of after) {
      try {
        await next();
      } catch (err) {
        // Committed: what is left (a notice to the peer) is recorded in the database and caught up on later.
        this.logger.error({ err, remote_id: remoteId }, 'a step after deleting the connection failed');
      }
    }
  }

  /** Adds a step to every connection deletion (see ConnectionDeletionStep); modules register theirs at start-up. */
  registerDeletionStep(step: ConnectionDeletionStep): void {
    this.deletionSteps.push(step);
  }

  // ---- server-to-server -------------------------------------------------------------------------------------

  /** Section 2.4, the inviter's half: the acceptor's confirm_invite frame, authenticated with the invite token. */
  async receiveInviteConfirmation(callerId: string, frame: RemoteClusterFrame): Promise<void> {
    const rc = await this.callerRecord(callerId, frame);
    if (this.isExpired(rc)) throw RemoteClusterErrors.inviteExpired();
    const confirm = parseInvitePayload(frame.msg.payload);
    if (confirm.remote_id !== '' && confirm.remote_id !== rc.remote_id) {
      throw RemoteClusterErrors.invalidPayload('the confirmation names another remote_id');
    }
    if (isConfirmed(rc)) throw RemoteClusterErrors.confirmRejected('the remote cluster has already been confirmed');
    // Whoever holds the invite and its password chooses this URL: it must be one we would call.
    await this.assertPeerUrl(confirm.site_url, 'the confirmation\'s site_url');

    let token: string;
    if ((confirm.version ?? 0) >= 2 && confirm.refreshed_token) {
      if (safeEqual(hashToken(confirm.refreshed_token), rc.token_hash)) {
        throw RemoteClusterErrors.confirmRejected('the refreshed token must differ from the invitation token');
      }
      token = confirm.refreshed_token;
    } else {
      // An old acceptor never learns this token (protocol 12.2); it is still better than keeping the invite's.
      token = newOpaqueToken();
    }
    const outcome = await this.remotes.confirmPending(rc.remote_id, {
      site_url: confirm.site_url,
      remote_team_id: confirm.remote_team_id,
      remote_token: confirm.token,
      token_hash: hashToken(token),
    });
    if (outcome === 'not_pending') throw RemoteClusterErrors.confirmRejected('the remote cluster has already been confirmed');
    if (outcome === 'duplicate') throw RemoteClusterErrors.notUnique('a connection to that server already exists');
    this.logger.log({ remote_id: rc.remote_id, site_url: confirm.site_url }, 'secure connection confirmed');
    await this.heartbeat.pingSoon(rc.remote_id);
  }

  /** The bare ping reply; pings change nothing here (each side judges the other by its own pings). */
  async receivePing(callerId: string, frame: RemoteClusterFrame): Promise<RemoteClusterPing> {
    const rc = await this.callerRecord(callerId, frame);
    const ping = parsePingPayload(frame.msg.payload);
    this.received.inc({ remote_id: rc.remote_id });
    return { sent_at: ping.sent_at, recv_at: Date.now() };
  }

  /** A /msg frame to its topic handler; always a Response envelope. */
  async receiveMsg(callerId: string, frame: RemoteClusterFrame): Promise<RemoteClusterResponse> {
    const rc = await this.callerRecord(callerId, frame);
    this.received.inc({ remote_id: rc.remote_id });
    return this.topics.dispatch(toRemoteClusterJson(rc), frame.msg);
  }

  // ---- for other modules ------------------------------------------------------------------------------------

  /** A live connection (confirmed or pending), sanitised; null if unknown or deleted. */
  async getRemote(remoteId: string): Promise<RemoteClusterJson | null> {
    const rc = await this.remotes.findActiveById(remoteId);
    return rc ? toRemoteClusterJson(rc) : null;
  }

  /** Mattermost's IsOnline: a successful ping within REMOTE_OFFLINE_AFTER_MS. */
  isOnline(remote: Pick<RemoteClusterJson, 'last_ping_at'>, now = Date.now()): boolean {
    return remote.last_ping_at > now - this.config.remoteCluster.offlineAfterMs;
  }

  /**
   * Sends one message to a confirmed remote and returns its Response (which may say FAIL). Rejects with
   * RemoteClusterTransportError; `permanent` is set for remotes that are gone or refuse the request. `msgId` lets a
   * caller name the envelope (the sync engine uses its SyncMsg id, so the delivery trace ties items to envelopes).
   */
  async sendMsg<P>(remoteId: string, topic: string, payload: P, opts: { evenIfDeleted?: boolean; msgId?: string } = {}): Promise<RemoteClusterResponse> {
    const target = await this.target(remoteId, opts.evenIfDeleted === true);
    return this.client.sendMsg(target, { id: opts.msgId ?? newId(), topic, create_at: Date.now(), payload });
  }

  /** Streams a file's bytes to an upload session the remote created (section 7); same errors as sendMsg. */
  async sendUpload(remoteId: string, uploadId: string, body: StreamedBody): Promise<UploadReply> {
    return this.client.uploadFile(await this.target(remoteId), uploadId, body);
  }

  /** Streams a profile image of a user we own to the remote (section 6.5); same errors as sendMsg. */
  async sendProfileImage(remoteId: string, userId: string, image: StreamedBody): Promise<void> {
    await this.client.sendProfileImage(await this.target(remoteId), userId, image);
  }

  /** Mattermost's last_global_user_sync_at: the update_at up to which all our users reached the remote. */
  async recordGlobalUserSync(remoteId: string, at: number): Promise<void> {
    await this.remotes.setLastGlobalUserSyncAt(remoteId, at);
  }

  /**
   * Where and how to reach a confirmed remote. `evenIfDeleted`: also a connection deleted here, for the last notices
   * owed to it (the peer still holds its side of the connection and accepts our token).
   */
  private async target(remoteId: string, evenIfDeleted = false): Promise<PeerTarget> {
    const rc = evenIfDeleted ? await this.remotes.findById(remoteId) : await this.remotes.findActiveById(remoteId);
    if (!rc || !isConfirmed(rc)) throw new RemoteClusterTransportError(remoteId, 'rejected', 'no confirmed secure connection with this remote');
    return { remote_id: rc.remote_id, site_url: rc.site_url, token: rc.remote_token };
  }

  // ---- helpers ----------------------------------------------------------------------------------------------

  /** The caller's live record; the guard already checked its token. Mattermost answers 400 for both failures. */
  private async callerRecord(callerId: string, frame: RemoteClusterFrame): Promise<RemoteClusterEntity> {
    if (callerId !== frame.remote_id) throw RemoteClusterErrors.remoteIdMismatch(frame.remote_id);
    const rc = await this.remotes.findActiveById(frame.remote_id);
    if (!rc) throw RemoteClusterErrors.remoteIdMismatch(frame.remote_id);
    return rc;
  }

  /**
   * Refuses (400) a peer URL that is malformed or names, or resolves to, an address on the deny list, before
   * anything is stored or sent. A name that does not resolve passes: the connection fails later with a
   * classified reason, and the connect-time check still applies whatever the name resolves to then.
   */
  private async assertPeerUrl(siteUrl: string, what: string): Promise<void> {
    let url: URL;
    try {
      url = parsePeerUrl(siteUrl);
    } catch (err) {
      if (err instanceof PeerUrlError) throw RemoteClusterErrors.siteUrlNotAllowed(`${what}: ${err.message}`);
      throw err;
    }
    try {
      await this.policy.resolveAllowed(urlHost(url));
    } catch (err) {
      if (err instanceof PeerAddressDeniedError) throw RemoteClusterErrors.siteUrlNotAllowed(`${what}: ${err.message}`);
      this.logger.debug({ host: url.host, err: (err as Error).message }, 'peer name did not resolve');
    }
  }

  private isExpired(rc: RemoteClusterEntity): boolean {
    return Date.now() - Math.max(rc.create_at, rc.invite_issued_at) > INVITE_EXPIRES_AFTER_MS;
  }

  private async assertTeam(teamId: string): Promise<void> {
    try {
      await this.chat.team(teamId);
    } catch (err) {
      if (err instanceof AppError && err.statusCode === 404) throw RemoteClusterErrors.invalidTeam('no such team');
      throw err;
    }
  }

  /**
   * Opens an invite under the per-address limit of failed attempts (RATE_LIMIT_INVITE_FAILURES_PER_ADDRESS, shared
   * by the replicas); every failure is a clean 400, or 429 once the window is used up.
   */
  private openInvite(code: string, password: string, client: string): Promise<RemoteClusterInvite> {
    return this.limits.attempt([[this.limits.inviteFailuresByAddress, client]], async () => {
      try {
        return await decryptInvite(code, password);
      } catch (err) {
        if (err instanceof InviteError) {
          throw err.reason === 'base64' ? RemoteClusterErrors.base64(err.message) : RemoteClusterErrors.decrypt(err.message);
        }
        throw err;
      }
    });
  }

  private sealInvite(rc: RemoteClusterEntity, password: string, inviteToken: string): Promise<string> {
    return encryptInvite(
      { remote_id: rc.remote_id, remote_team_id: '', site_url: this.config.http.siteUrl, token: inviteToken, version: INVITE_VERSION },
      password,
    );
  }

  private newRecord(
    auth: AuthContext,
    fields: Pick<RemoteClusterEntity, 'remote_id' | 'name' | 'site_url' | 'default_team_id' | 'token_hash' | 'remote_token'> & {
      display_name?: string;
    },
  ): RemoteClusterEntity {
    return Object.assign(new RemoteClusterEntity(), {
      remote_id: fields.remote_id,
      remote_team_id: '',
      // Mattermost's NormalizeRemoteName: the name becomes the suffix of munged usernames, so one spelling only.
      name: fields.name.toLowerCase(),
      display_name: fields.display_name || fields.name,
      site_url: fields.site_url,
      default_team_id: fields.default_team_id,
      create_at: Date.now(),
      invite_issued_at: 0,
      delete_at: 0,
      last_ping_at: 0,
      last_global_user_sync_at: 0,
      token_hash: fields.token_hash,
      previous_token_hash: '',
      previous_token_expires_at: 0,
      pending_token: '',
      remote_token: fields.remote_token,
      topics: '',
      creator_id: auth.userId,
      plugin_id: '',
      options: 0,
      online: false,
    });
  }
}
