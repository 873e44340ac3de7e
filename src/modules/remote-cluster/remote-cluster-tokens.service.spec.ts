import type { AppConfig } from '../../config/app-config.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { AppError } from '../../common/app-error.js';
import { hashToken } from '../auth/tokens.js';
import type { RemoteClusterMsg } from './dto/frame.dto.js';
import { type PeerTarget, type RemoteClusterClient, RemoteClusterTransportError } from './remote-cluster.client.js';
import type { RemoteClusterEntity } from './remote-cluster.entity.js';
import { toRemoteClusterJson } from './remote-cluster.mapper.js';
import type { RemoteClusterRepository, RotationState } from './remote-cluster.repository.js';
import { RemoteClusterTokens } from './remote-cluster-tokens.service.js';
import { TokenSealer } from './token-sealer.js';
import { TopicRegistry } from './topic-registry.service.js';

const REMOTE = 'tewhd6bhj9buofu8fbiqnbfixg';
const OVERLAP_MS = 60_000;

/** One server's record of the connection, behind the repository methods RemoteClusterTokens uses. */
class MemoryRemotes {
  private lock: Promise<unknown> = Promise.resolve();

  constructor(public row: RemoteClusterEntity) {}

  async findActiveById(): Promise<RemoteClusterEntity> {
    return { ...this.row };
  }

  async findActiveCredentials() {
    return { ...this.row };
  }

  async startTokenOverlap(_id: string, tokenHash: string, until: number): Promise<void> {
    if (this.row.token_hash === tokenHash && this.row.previous_token_hash !== '' && this.row.previous_token_expires_at === 0) {
      Object.assign(this.row, { previous_token_expires_at: until, pending_token: this.row.pending_awaits_reply ? this.row.pending_token : '' });
    }
  }

  withRotationLock<T>(_id: string, fn: (s: RotationState | null) => Promise<{ set?: Partial<RotationState>; result: T }> | { set?: Partial<RotationState>; result: T }): Promise<T> {
    const run = this.lock.then(async () => {
      const { set, result } = await fn({ ...this.row });
      Object.assign(this.row, set ?? {});
      return result;
    });
    this.lock = run.catch(() => undefined);
    return run;
  }
}

/**
 * Two servers' token services wired to each other: a message goes through the receiver's guard check (verify)
 * and its topic registry, as over HTTP. `deliver` can hold a message back or lose the reply.
 */
class Side {
  readonly remotes: MemoryRemotes;
  readonly topics = new TopicRegistry(new MetricsService());
  readonly tokens: RemoteClusterTokens;
  peer!: Side;
  /** Called before each delivery; may throw (nothing delivered) or wait. */
  beforeDeliver: () => Promise<void> = async () => undefined;
  /** Called after the peer handled a message; may throw to lose the reply. */
  afterDeliver: () => void = () => undefined;

  constructor(name: string, inbound: string, outbound: string) {
    this.remotes = new MemoryRemotes({
      remote_id: REMOTE,
      remote_team_id: '',
      name,
      display_name: name,
      site_url: `https://${name}.test`,
      default_team_id: '',
      create_at: 1, invite_issued_at: 0,
      delete_at: 0,
      last_ping_at: 0,
      last_global_user_sync_at: 0,
      token_hash: hashToken(inbound),
      previous_token_hash: '',
      previous_token_expires_at: 0,
      pending_token: '',
      pending_awaits_reply: false,
      remote_token: outbound,
      topics: '',
      creator_id: REMOTE,
      plugin_id: '',
      options: 0,
      online: true,
    });
    const client = { sendMsg: (target: PeerTarget, msg: RemoteClusterMsg) => this.send(target, msg) } as unknown as RemoteClusterClient;
    const config = { remoteCluster: { tokenOverlapMs: OVERLAP_MS } } as AppConfig;
    this.tokens = new RemoteClusterTokens(this.remotes as unknown as RemoteClusterRepository, client, this.topics, new TokenSealer(), config);
    this.tokens.onModuleInit();
  }

  private async send(target: PeerTarget, msg: RemoteClusterMsg) {
    await this.beforeDeliver();
    if (!(await this.peer.tokens.verify(REMOTE, target.token, 'connection'))) {
      throw new RemoteClusterTransportError(REMOTE, 'http_status', 'answered 401', 401);
    }
    const reply = await this.peer.topics.dispatch(toRemoteClusterJson(this.peer.remotes.row), msg);
    this.afterDeliver();
    return reply;
  }

  /** What this side presents to its peer now. */
  get presents(): string {
    return this.remotes.row.remote_token;
  }
}

function pair(): [Side, Side] {
  const a = new Side('a', 'token-b-presents-to-a-0', 'token-a-presents-to-b-0');
  const b = new Side('b', 'token-a-presents-to-b-0', 'token-b-presents-to-a-0');
  a.peer = b;
  b.peer = a;
  return [a, b];
}

async function errorOf(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected a failure');
}

/** Both directions authenticate with what each side currently presents. */
async function bothWork(a: Side, b: Side): Promise<void> {
  expect(await b.tokens.verify(REMOTE, a.presents, 'connection')).toBe(true);
  expect(await a.tokens.verify(REMOTE, b.presents, 'connection')).toBe(true);
}

describe('RemoteClusterTokens', () => {
  it('rotates both ways; each old token lasts until the new one is used, then for the overlap', async () => {
    const [a, b] = pair();
    const [oldA, oldB] = [a.presents, b.presents];
    await a.tokens.rotate(REMOTE);
    expect(a.presents).not.toBe(oldA);
    expect(b.presents).not.toBe(oldB);
    // Requests signed before the switch still pass, on both sides.
    expect(await b.tokens.verify(REMOTE, oldA, 'connection')).toBe(true);
    expect(await a.tokens.verify(REMOTE, oldB, 'connection')).toBe(true);
    await bothWork(a, b);
    // The first use of each new token started the old one's overlap and dropped the readable copy.
    for (const side of [a, b]) {
      expect(side.remotes.row.pending_token).toBe('');
      expect(side.remotes.row.previous_token_expires_at).toBeGreaterThan(Date.now());
      side.remotes.row.previous_token_expires_at = Date.now() - 1;
    }
    expect(await b.tokens.verify(REMOTE, oldA, 'connection')).toBe(false);
    expect(await a.tokens.verify(REMOTE, oldB, 'connection')).toBe(false);
    await bothWork(a, b);
  });

  it('keeps both tokens when the reply is lost, and a retry hands the same token over again', async () => {
    const [a, b] = pair();
    a.afterDeliver = () => {
      throw new RemoteClusterTransportError(REMOTE, 'timeout', 'no reply');
    };
    const lost = await errorOf(a.tokens.rotate(REMOTE));
    expect({ status: lost.statusCode, id: lost.id }).toEqual({ status: 502, id: 'api.remote_cluster.rotate_token.unreachable.app_error' });
    // B applied it and presents A's new token; A did not learn B's: both still work.
    await bothWork(a, b);
    const pendingOnA = a.remotes.row.pending_token;
    const pendingOnB = b.remotes.row.pending_token;
    expect(pendingOnA).not.toBe('');

    a.afterDeliver = () => undefined;
    await a.tokens.rotate(REMOTE);
    expect(b.presents).toBe(pendingOnA);
    expect(a.presents).toBe(pendingOnB);
    await bothWork(a, b);
  });

  it('undoes a first attempt the peer refused or did not understand, and keeps the old tokens working', async () => {
    const [a, b] = pair();
    const before = { ...a.remotes.row };
    // B without the topic answers {"status":"OK","err":"","payload":null}, as Mattermost answers unknown topics.
    (b.topics as unknown as { handlers: Map<string, unknown> }).handlers.clear();
    const unsupported = await errorOf(a.tokens.rotate(REMOTE));
    expect({ status: unsupported.statusCode, id: unsupported.id }).toEqual({ status: 422, id: 'api.remote_cluster.rotate_token.unsupported.app_error' });
    expect(a.remotes.row).toEqual(before);
    await bothWork(a, b);
  });

  it('refuses to start inside an overlap window, and the peer refuses such a request without applying it', async () => {
    const [a, b] = pair();
    await a.tokens.rotate(REMOTE);
    await bothWork(a, b);
    const inProgress = await errorOf(a.tokens.rotate(REMOTE));
    expect({ status: inProgress.statusCode, id: inProgress.id }).toEqual({ status: 409, id: 'api.remote_cluster.rotate_token.in_progress.app_error' });

    // A's window has passed but B's has not: B answers FAIL, A undoes its first attempt, nothing breaks.
    a.remotes.row.previous_token_expires_at = Date.now() - 1;
    const bBefore = { ...b.remotes.row };
    const refused = await errorOf(a.tokens.rotate(REMOTE));
    expect({ status: refused.statusCode, id: refused.id }).toEqual({ status: 502, id: 'api.remote_cluster.rotate_token.rejected.app_error' });
    expect(refused.detailedError).toContain('overlap window');
    expect(b.remotes.row).toEqual(bBefore);
    expect(a.remotes.row.pending_token).toBe('');
    await bothWork(a, b);
  });

  it('converges when both admins rotate at the same moment', async () => {
    const [a, b] = pair();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    a.beforeDeliver = () => held; // A's request waits until B's rotation is done
    const fromA = a.tokens.rotate(REMOTE);
    await new Promise((r) => setImmediate(r));
    await b.tokens.rotate(REMOTE);
    release();
    await fromA;
    expect(a.remotes.row.pending_token).toBe(b.presents);
    expect(b.remotes.row.pending_token).toBe(a.presents);
    await bothWork(a, b);
    expect(a.remotes.row.pending_token).toBe('');
    expect(b.remotes.row.pending_token).toBe('');
  });

  it('accepts the token of a pending record only where invitations are', async () => {
    const [a] = pair();
    a.remotes.row.site_url = 'pending_x';
    expect(await a.tokens.verify(REMOTE, 'token-b-presents-to-a-0', 'connection')).toBe(false);
    expect(await a.tokens.verify(REMOTE, 'token-b-presents-to-a-0', 'invitation')).toBe(true);
    expect(await a.tokens.verify(REMOTE, 'wrong', 'invitation')).toBe(false);
  });
});
