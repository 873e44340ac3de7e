import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import type { Queue } from 'bullmq';
import { Coalescer } from '../../common/coalescer.js';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { BullBoardService } from '../../queue/bull-board.service.js';
import { JobProducer } from '../../queue/job-producer.js';
import { JobName, QueueName } from '../../queue/queue.constants.js';
import { CHAT_CHANGE_EVENT, type ChangeEvent } from '../chat/events/change-event.types.js';
import { CONNECTION_STATE_EVENT, type ConnectionStateChange } from '../remote-cluster/connection-state.service.js';
import { SHARED_CHANNEL_EVENT, type SharedChannelEvent } from '../shared-channel/shared-channel-events.service.js';
import { SharedChannelStore } from '../shared-channel/shared-channel-store.service.js';
import { SyncMetrics } from './sync.metrics.js';
import { SyncRepository } from './sync.repository.js';

/** How long the set of remotes of a shared channel is trusted in memory (a new share waits at most this). */
const REMOTES_CACHE_MS = 1_000;

export function syncJobKey(channelId: string, remoteId: string): string {
  return `sync:${remoteId}:${channelId}`;
}

/**
 * Turns changes into sync jobs. One BullMQ deduplication id per (channel, remote): a burst inside SYNC_DELAY_MS
 * becomes one run; while a run is active, the next change queues exactly one run after it (keepLastIfActive), and
 * two runs of the same pair never overlap, whichever replica's worker takes them. Redis is only a hint: the sweep
 * re-derives every pending pair from the database.
 */
@Injectable()
export class SyncScheduler implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SyncScheduler.name);
  private readonly remotesCache = new Map<string, { remoteIds: Promise<string[]>; at: number }>();
  /** Redis adds per (channel, remote, delay): at most one in flight, a burst folded into one follow-up. */
  private readonly adds = new Coalescer();

  constructor(
    @InjectQueue(QueueName.Sync) private readonly queue: Queue,
    private readonly jobs: JobProducer,
    private readonly shares: SharedChannelStore,
    private readonly repo: SyncRepository,
    private readonly board: BullBoardService,
    private readonly metrics: SyncMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.board.addQueue(this.queue);
    this.metrics.setSources({
      queueSize: async () => {
        const c = await this.queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
        return Object.values(c).reduce((a, b) => a + b, 0);
      },
      parked: () => this.repo.parkedCounts(),
    });
  }

  /** A remote came back online: its whole backlog now, and its global user sync when enabled. */
  @OnEvent(CONNECTION_STATE_EVENT)
  async onConnectionState(change: ConnectionStateChange): Promise<void> {
    if (!change.online) return;
    await this.scheduleRemote(change.remote_id);
    if (this.config.sync.globalUserSync) await this.scheduleGlobalUserSync(change.remote_id);
  }

  /** A confirmed invite gets the channel's first sync at once; a removed remote none. */
  @OnEvent(SHARED_CHANNEL_EVENT)
  async onShareEvent(e: SharedChannelEvent): Promise<void> {
    this.forget(e.channel_id);
    if (e.kind === 'remote_confirmed') await this.enqueue(e.channel_id, e.remote_id, 0);
  }

  private reassert?: NodeJS.Timeout;

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.schedule(JobName.SyncSweep, this.config.sync.sweepIntervalMs, {});
    // Re-assert the sweep's scheduler now and then: if Redis was flushed, the sweep comes back by itself and
    // re-derives all pending work from the database. The upsert is idempotent and shared by all replicas.
    this.reassert = setInterval(() => {
      this.jobs.schedule(JobName.SyncSweep, this.config.sync.sweepIntervalMs, {}).catch((err: unknown) => {
        this.logger.warn({ err }, 'could not re-assert the sync sweep scheduler');
      });
    }, Math.max(1_000, this.config.sync.sweepIntervalMs));
    this.reassert.unref();
  }

  onApplicationShutdown(): void {
    if (this.reassert) clearInterval(this.reassert);
  }

  async enqueue(channelId: string, remoteId: string, delayMs = this.config.sync.delayMs): Promise<void> {
    // A burst of changes (a bulk import publishes hundreds at once) makes one Redis add, plus one more after it if
    // changes came meanwhile; that one starts after they all committed, so none is missed by the run it schedules.
    await this.adds.run(`${syncJobKey(channelId, remoteId)}:${delayMs}`, () => this.addSyncJob(channelId, remoteId, delayMs));
  }

  private async addSyncJob(channelId: string, remoteId: string, delayMs: number): Promise<void> {
    await this.jobs.enqueue(
      JobName.SyncChannel,
      { channel_id: channelId, remote_id: remoteId },
      { delay: delayMs, deduplication: { id: syncJobKey(channelId, remoteId), keepLastIfActive: true } },
    );
  }

  /**
   * A job that failed while the remote was away waits out its backoff (up to a minute) under the same deduplication
   * id, so the enqueue above was absorbed by it: now that the remote answers, it runs at once instead.
   */
  private async promoteWaitingRetry(dedupId: string): Promise<void> {
    const jobId = await this.queue.getDeduplicationJobId(dedupId);
    const job = jobId ? await this.queue.getJob(jobId) : undefined;
    if (job && (await job.isDelayed())) await job.promote().catch(() => undefined);
  }

  /** One global user sync run for the remote; a request while one waits joins it, one while it runs follows it. */
  async scheduleGlobalUserSync(remoteId: string, delayMs = 0): Promise<void> {
    await this.jobs.enqueue(
      JobName.GlobalUserSync,
      { remote_id: remoteId },
      { delay: delayMs, deduplication: { id: `global-user-sync:${remoteId}`, keepLastIfActive: true } },
    );
  }

  forget(channelId: string): void {
    this.remotesCache.delete(channelId);
  }

  /** The promise is cached, so the hundreds of events of one import share one query. */
  private remotesOf(channelId: string): Promise<string[]> {
    const hit = this.remotesCache.get(channelId);
    if (hit && Date.now() - hit.at < REMOTES_CACHE_MS) return hit.remoteIds;
    const remoteIds = this.shares.findActiveRemotes(channelId).then((rows) => rows.map((r) => r.remote_id));
    const entry = { remoteIds, at: Date.now() };
    this.remotesCache.set(channelId, entry);
    remoteIds.catch(() => {
      if (this.remotesCache.get(channelId) === entry) this.remotesCache.delete(channelId);
    });
    return remoteIds;
  }

  /** Every remote of the changed channel except the one the change came from (loop prevention). */
  @OnEvent(CHAT_CHANGE_EVENT)
  async onChange(event: ChangeEvent): Promise<void> {
    if (event.channel_id) {
      for (const remoteId of await this.remotesOf(event.channel_id)) {
        if (remoteId !== event.origin_remote_id) await this.enqueue(event.channel_id, remoteId);
      }
      return;
    }
    if ('user_id' in event) {
      for (const pair of await this.repo.findPairsForUser(event.user_id)) {
        if (pair.remote_id !== event.origin_remote_id) await this.enqueue(pair.channel_id, pair.remote_id);
      }
    }
  }

  /** A remote came (back) online: its whole backlog, every channel, now. */
  async scheduleRemote(remoteId: string): Promise<void> {
    const pairs = await this.shares.findActiveChannelsOfRemote(remoteId);
    for (const p of pairs) {
      await this.enqueue(p.channel_id, remoteId, 0);
      await this.promoteWaitingRetry(syncJobKey(p.channel_id, remoteId));
    }
    if (pairs.length) this.logger.log({ remote_id: remoteId, channels: pairs.length }, 'remote online: scheduled its channels');
  }

  /** The safety net: whatever a crash or a flushed Redis lost is found again from the cursors. */
  async sweep(now = Date.now()): Promise<number> {
    const pairs = await this.repo.findBehind(now - this.config.remoteCluster.offlineAfterMs, now, this.config.sync.membershipSync);
    for (const p of pairs) await this.enqueue(p.channel_id, p.remote_id, 0);
    return pairs.length;
  }
}
