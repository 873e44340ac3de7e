import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { newId } from '../../common/ids.js';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import type { RemoteAuthScope, RemoteClusterTokenVerifier } from '../auth/remote-cluster-auth.guard.js';
import { safeEqual } from '../../common/secrets.js';
import { hashToken, newOpaqueToken } from '../auth/tokens.js';
import { RESPONSE_STATUS_OK } from './dto/frame.dto.js';
import { RemoteClusterClient, RemoteClusterTransportError } from './remote-cluster.client.js';
import { isConfirmed, isPlugin } from './remote-cluster.entity.js';
import { RemoteClusterErrors } from './remote-cluster.errors.js';
import { RemoteClusterRepository, type RotationState } from './remote-cluster.repository.js';
import { TokenSealer } from './token-sealer.js';
import { TopicRegistry } from './topic-registry.service.js';

/**
 * Token rotation between two servers of this kind, over /msg (Mattermost has none: its tokens live as long as the
 * connection). The initiator sends `{"token": <new token the receiver must present to it>}`; the receiver answers
 * `{"token": <new token the initiator must present to it>}`. A Mattermost peer answers an unknown topic OK with a
 * null payload: that means "not applied", and both sides keep their tokens.
 */
export const TOPIC_TOKEN_ROTATION = 'mmfed_rotate_token';

/** What a peer may hand us as a token: header-safe, long enough to be a secret, short enough for the guard. */
const PEER_TOKEN = /^[\w.~-]{16,128}$/;

function tokenOf(payload: unknown): string | null {
  if (typeof payload !== 'object' || payload === null) return null;
  const token = (payload as { token?: unknown }).token;
  return typeof token === 'string' && PEER_TOKEN.test(token) ? token : null;
}

/**
 * The secrets of secure connections after the handshake: the verifier behind @RemoteClusterAuth() and token
 * rotation, both directions.
 *
 * Each record accepts its current token and, after a rotation, the previous one: the previous token stays valid
 * until the peer first presents the new one, then for REMOTE_TOKEN_OVERLAP_MS, so requests already in flight with
 * it still authenticate, and a rotation whose outcome is unknown (the reply was lost) never locks the peer out.
 * Our own new token stays readable (pending_token) while it may have to be handed over again: on the side that
 * started the rotation until the peer's reply arrives (a retry after a lost reply resends the same token and gets
 * the peer's same token back), on the other side until the peer first presents it. Two admins rotating both ends
 * at once converge the same way: each side answers with the token it is already handing out.
 */
@Injectable()
export class RemoteClusterTokens implements RemoteClusterTokenVerifier, OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger(RemoteClusterTokens.name);

  constructor(
    private readonly remotes: RemoteClusterRepository,
    private readonly client: RemoteClusterClient,
    private readonly topics: TopicRegistry,
    private readonly sealer: TokenSealer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.topics.register(TOPIC_TOKEN_ROTATION, (remote, msg) => this.receiveRotation(remote.remote_id, msg.payload));
  }

  /**
   * With REMOTE_TOKEN_KEY: seals tokens still stored in clear. Without it: refuses to start if tokens were sealed
   * before, rather than failing every call to those peers later.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (this.sealer.enabled) {
      const sealed = await this.remotes.sealClearTokens();
      if (sealed) this.logger.log({ rows: sealed }, 'sealed the peer tokens stored in clear with REMOTE_TOKEN_KEY');
    } else if (await this.remotes.hasSealedTokens()) {
      throw new Error('remote_clusters holds tokens sealed with REMOTE_TOKEN_KEY, which is not set: set it again to start');
    }
  }

  /**
   * The guard's check: the hash of `token` against the live record's current (or still valid previous) hash, in
   * constant time. `connection` needs a confirmed record; `invitation` (confirm_invite) takes a pending one too.
   */
  async verify(remoteId: string, token: string, scope: RemoteAuthScope): Promise<boolean> {
    const row = await this.remotes.findActiveCredentials(remoteId);
    if (!row) return false;
    if (scope === 'connection' && !isConfirmed(row)) return false;
    const presented = hashToken(token);
    if (row.token_hash !== '' && safeEqual(row.token_hash, presented)) {
      if (row.previous_token_hash !== '' && row.previous_token_expires_at === 0) {
        // First use of the new token: the old one now has REMOTE_TOKEN_OVERLAP_MS left.
        await this.remotes.startTokenOverlap(remoteId, presented, Date.now() + this.config.remoteCluster.tokenOverlapMs);
      }
      return true;
    }
    return (
      row.previous_token_hash !== '' &&
      safeEqual(row.previous_token_hash, presented) &&
      (row.previous_token_expires_at === 0 || Date.now() < row.previous_token_expires_at)
    );
  }

  /**
   * POST /api/v4/remotecluster/{remote_id}/rotate_token: new tokens both ways. Resolves once the peer has taken
   * ours and given us its own; our previous token keeps working until the peer has switched, plus the overlap.
   */
  async rotate(remoteId: string): Promise<void> {
    const rc = await this.remotes.findActiveById(remoteId);
    if (!rc) throw RemoteClusterErrors.notFound();
    if (!isConfirmed(rc) || isPlugin(rc)) throw RemoteClusterErrors.rotateNotConfirmed();

    const begun = await this.remotes.withRotationLock(remoteId, (state) => {
      if (!state) throw RemoteClusterErrors.notFound();
      // Ours, still without the peer's reply: send the same token again.
      if (state.pending_token && state.pending_awaits_reply) return { result: { token: state.pending_token, retry: true } };
      // The peer's rotation, which it has not finished using yet, or a window still open: wait for it.
      if (state.pending_token) throw RemoteClusterErrors.rotateInProgress();
      this.assertNotInOverlap(state, () => RemoteClusterErrors.rotateInProgress());
      const token = newOpaqueToken();
      return { set: { ...this.switchInbound(state, token), pending_awaits_reply: true }, result: { token, retry: false } };
    });

    let reply;
    try {
      reply = await this.client.sendMsg(
        { remote_id: rc.remote_id, site_url: rc.site_url, token: rc.remote_token },
        { id: newId(), topic: TOPIC_TOKEN_ROTATION, create_at: Date.now(), payload: { token: begun.token } },
      );
    } catch (err) {
      if (!(err instanceof RemoteClusterTransportError)) throw err;
      // Whether the peer applied it is unknown: both of our tokens stay valid, and a retry resends the same one.
      this.logger.warn({ remote_id: remoteId, kind: err.kind, err: err.message }, 'token rotation not delivered');
      throw RemoteClusterErrors.rotateUnreachable(err.describe());
    }

    const theirs = reply.status === RESPONSE_STATUS_OK ? tokenOf(reply.payload) : null;
    if (theirs) {
      await this.remotes.withRotationLock(remoteId, (state) => ({
        // Our token reached the peer: from now on it is kept only until the peer presents it.
        set: { remote_token: theirs, ...(state?.pending_awaits_reply ? { pending_awaits_reply: false } : {}) },
        result: undefined,
      }));
      this.logger.log({ remote_id: remoteId }, 'secure connection tokens rotated');
      return;
    }
    // Refused, or not understood (Mattermost: OK, null payload): the peer did not apply this request. After an
    // earlier attempt it may have applied that one, so only a first attempt is undone; and if the peer's own
    // rotation crossed ours, both tokens were exchanged there and there is nothing to undo.
    const completed = await this.remotes.withRotationLock(remoteId, (state) => {
      if (!state || !state.pending_awaits_reply || state.token_hash !== hashToken(begun.token)) return { result: true };
      if (begun.retry) return { result: false };
      return {
        set: { token_hash: state.previous_token_hash, previous_token_hash: '', previous_token_expires_at: 0, pending_token: '', pending_awaits_reply: false },
        result: false,
      };
    });
    if (completed) return;
    if (reply.status === RESPONSE_STATUS_OK && reply.payload === null) throw RemoteClusterErrors.rotateUnsupported();
    throw RemoteClusterErrors.rotateRejected(reply.status === RESPONSE_STATUS_OK ? 'the reply carried no usable token' : reply.err);
  }

  /** The peer's half: take its new token, give it ours (the same one again if it asked before). */
  private async receiveRotation(remoteId: string, payload: unknown): Promise<{ token: string }> {
    const theirs = tokenOf(payload);
    if (!theirs) throw new Error('invalid token rotation: payload.token must be 16-128 of [A-Za-z0-9._~-]');
    return this.remotes.withRotationLock(remoteId, (state) => {
      if (!state) throw new Error('no confirmed secure connection with this remote');
      // Handing out a token already (a retry, or our own rotation crossing this one): the same one again. If it was
      // ours, this reply completes it.
      if (state.pending_token) return { set: { remote_token: theirs, pending_awaits_reply: false }, result: { token: state.pending_token } };
      this.assertNotInOverlap(state, () => new Error('a token rotation is still in its overlap window; try again later'));
      const mine = newOpaqueToken();
      return { set: { ...this.switchInbound(state, mine), remote_token: theirs }, result: { token: mine } };
    });
  }

  /** Our inbound token becomes `token`; the current one stays valid until the peer has used the new one. */
  private switchInbound(state: RotationState, token: string): Partial<RotationState> {
    return { previous_token_hash: state.token_hash, previous_token_expires_at: 0, token_hash: hashToken(token), pending_token: token };
  }

  /** A previous token still inside its overlap may be in flight: replacing it now would refuse those requests. */
  private assertNotInOverlap(state: RotationState, error: () => Error): void {
    if (state.previous_token_hash !== '' && state.previous_token_expires_at > Date.now()) throw error();
  }

}
