/**
 * Unit-test stand-ins for the collaborators of the sync streams (a database and a peer in memory), so a stream's
 * rules can be checked one by one without servers. Federation tests never use these: they run real instances.
 */
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { PostRecord } from '../../src/modules/chat/feed/channel-feed.service.js';
import type { RemoteClusterResponse } from '../../src/modules/remote-cluster/dto/frame.dto.js';
import type { RemoteClusterService } from '../../src/modules/remote-cluster/remote-cluster.service.js';
import type { SharedChannelRemoteRecord } from '../../src/modules/shared-channel/shared-channel-store.service.js';
import { emptySyncResponse, type SyncMsg, type SyncResponse } from '../../src/modules/shared-channel/wire.types.js';
import { MetricsService } from '../../src/metrics/metrics.service.js';
import { SyncMetrics } from '../../src/modules/sync/sync.metrics.js';
import { noneSent, type PassContext } from '../../src/modules/sync/sync-pass.js';
import type { RetryKind, SyncRetryEntity } from '../../src/modules/sync/sync-retry.entity.js';
import type { RetryState, SyncRepository } from '../../src/modules/sync/sync.repository.js';
import type { DeliveryTrace, ItemEvent } from '../../src/modules/remote-cluster/trace/delivery-trace.service.js';
import { SyncTransport } from '../../src/modules/sync/sync-transport.service.js';
import { RemoteClusterTransportError } from '../../src/modules/remote-cluster/remote-cluster.client.js';

export const CHANNEL = 'c'.repeat(25) + '1';
export const REMOTE = 'r'.repeat(25) + '1';

let counter = 0;
/** A 26-character id that sorts in creation order. */
export function id(prefix = 'p'): string {
  counter++;
  return `${prefix}${String(counter).padStart(26 - prefix.length, '0')}`;
}

export function post(fields: Partial<PostRecord> = {}): PostRecord {
  return {
    id: id(),
    create_at: 1000,
    update_at: 1000,
    edit_at: 0,
    delete_at: 0,
    is_pinned: false,
    user_id: 'u'.repeat(25) + '1',
    channel_id: CHANNEL,
    root_id: '',
    original_id: '',
    message: 'hi',
    type: '',
    props: {},
    hashtags: '',
    file_ids: [],
    pending_post_id: '',
    remote_id: null,
    seq: 10,
    ...fields,
  };
}

export function scr(fields: Partial<SharedChannelRemoteRecord> = {}): SharedChannelRemoteRecord {
  return {
    id: 's'.repeat(25) + '1',
    channel_id: CHANNEL,
    creator_id: 'u'.repeat(26),
    create_at: 1,
    update_at: 1,
    delete_at: 0,
    is_invite_accepted: true,
    is_invite_confirmed: true,
    remote_id: REMOTE,
    last_post_update_at: 0,
    last_post_update_id: '',
    last_post_create_at: 0,
    last_post_create_id: '',
    last_members_sync_at: 0,
    last_post_seq: 5,
    last_post_seq_id: '',
    last_reaction_seq: 5,
    last_reaction_key: '',
    last_ack_seq: 5,
    last_ack_key: '',
    unshare_pending: false,
    last_user_event_seq: 5,
    last_member_event_seq: 0,
    first_post_seq: 2,
    last_details_update_at: 0,
    backfill_state: '',
    backfill_since: -1,
    backfill_until: 0,
    backfill_cursor_at: 0,
    backfill_cursor_id: '',
    backfill_seq: 0,
    backfill_total: 0,
    backfill_sent: 0,
    backfill_refused: 0,
    backfill_started_at: 0,
    backfill_finished_at: 0,
    ...fields,
  };
}

export function passContext(fields: Partial<PassContext> = {}): PassContext {
  return {
    channelId: CHANNEL,
    remoteId: REMOTE,
    remoteName: 'peer',
    peer: 'mmfed',
    scr: scr(),
    share: null,
    now: 1_000_000,
    maxAttempts: 3,
    maxBytes: 2 * 1024 * 1024,
    sent: noneSent(),
    postsNotTaken: new Set(),
    postsTaken: new Set(),
    again: false,
    ...fields,
  };
}

export interface RecordedRetry {
  kind: RetryKind;
  item_key: string;
  post_id: string;
  waiting_for: string;
  attempt: boolean;
  park: boolean;
  error: string;
}

/** The retry table in memory: what a stream recorded, accepted and asked for. */
export class FakeSyncRepository {
  due: Partial<Record<RetryKind, Array<Pick<SyncRetryEntity, 'item_key'>>>> = {};
  held: Partial<Record<RetryKind, Set<string>>> = {};
  parked: Partial<Record<RetryKind, Set<string>>> = {};
  recorded: RecordedRetry[] = [];
  accepted: Array<{ kind: RetryKind; keys: string[] }> = [];
  requested: string[] = [];
  /** How many waiting items recordAccepted reports as released. */
  releases = 0;

  async dueRetries(_c: string, _r: string, kind: RetryKind): Promise<SyncRetryEntity[]> {
    return (this.due[kind] ?? []) as SyncRetryEntity[];
  }
  async heldKeys(_c: string, _r: string, kind: RetryKind, keys: string[], parkedOnly = false): Promise<Set<string>> {
    const from = (parkedOnly ? this.parked[kind] : this.held[kind]) ?? new Set<string>();
    return new Set(keys.filter((k) => from.has(k)));
  }
  async recordRetries(
    items: Array<{ kind: RetryKind; item_key: string; post_id: string; waiting_for?: string }>,
    _where: unknown,
    opts: { error: string; attempt: boolean; park?: boolean; now?: number },
  ): Promise<RetryState[]> {
    for (const i of items) this.recorded.push({ ...i, waiting_for: i.waiting_for ?? '', attempt: opts.attempt, park: opts.park === true, error: opts.error });
    return items.map((i) => ({
      kind: i.kind,
      item_key: i.item_key,
      post_id: i.post_id,
      attempts: opts.attempt ? 1 : 0,
      parked: opts.park === true,
      next_attempt_at: opts.now ?? 0,
      waiting_for: i.waiting_for ?? '',
    }));
  }
  async recordAccepted(_c: string, _r: string, kind: RetryKind, keys: string[]): Promise<number> {
    if (keys.length) this.accepted.push({ kind, keys });
    return this.releases;
  }
  released: string[] = [];
  async releaseWaitingFor(_c: string, _r: string, postIds: string[]): Promise<number> {
    this.released.push(...postIds);
    return postIds.length;
  }
  async requestPosts(_c: string, _r: string, postIds: string[]): Promise<void> {
    this.requested.push(...postIds);
  }
  asRepo(): SyncRepository {
    return this as unknown as SyncRepository;
  }
}

/** A peer that answers each sync message with `answer(msg)`: a SyncResponse, null, a FAIL, or by throwing. */
export type PeerAnswer = (msg: SyncMsg) => SyncResponse | null | { fail: string } | Promise<SyncResponse | null | { fail: string }>;

export class FakePeer {
  readonly messages: SyncMsg[] = [];
  constructor(public answer: PeerAnswer = () => emptySyncResponse()) {}

  async sendMsg(_remoteId: string, _topic: string, payload: SyncMsg): Promise<RemoteClusterResponse> {
    this.messages.push(payload);
    const a = await this.answer(payload);
    if (a && 'fail' in a) return { status: 'FAIL', err: a.fail, payload: null };
    return { status: 'OK', err: '', payload: a };
  }
}

/** A peer behind a proxy that answers 413 to any message above `limit` bytes and otherwise takes everything. */
export function limitedPeer(limit: number, inner: PeerAnswer = () => emptySyncResponse()): PeerAnswer {
  return (msg) => {
    if (Buffer.byteLength(JSON.stringify(msg)) > limit) throw new RemoteClusterTransportError(REMOTE, 'http_status', '/msg answered 413', 413);
    return inner(msg);
  };
}

export function syncMetrics(): SyncMetrics {
  return new SyncMetrics(new MetricsService());
}

/** The delivery trace in memory: the item events a stream or the transport recorded. */
export class FakeTrace {
  readonly events: ItemEvent[] = [];
  items(events: ItemEvent[]): void {
    this.events.push(...events);
  }
  envelope(): void {}
  asTrace(): DeliveryTrace {
    return this as unknown as DeliveryTrace;
  }
}

export function transportFor(
  peer: FakePeer,
  metrics = syncMetrics(),
  emitter = new EventEmitter2(),
  repo = new FakeSyncRepository(),
  trace = new FakeTrace(),
): SyncTransport {
  return new SyncTransport(peer as unknown as RemoteClusterService, metrics, emitter, repo.asRepo(), trace.asTrace());
}
