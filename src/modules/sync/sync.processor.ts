import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { JobName, type JobPayloads, QueueName } from '../../queue/queue.constants.js';
import { PER_REMOTE_BUSY_DELAY_MS, SYNC_JOB_BUDGET_MS, SYNC_LOCK_MS, SYNC_STALLED_CHECK_MS } from './sync.constants.js';
import { BACKFILL_BUSY_DELAY_MS, BACKFILL_JOB_BUDGET_MS, BACKFILL_JOBS_PER_REPLICA, BackfillService, type BackfillRunResult } from './backfill/backfill.service.js';
import { ConsistencyScheduler } from './consistency/consistency-scheduler.service.js';
import { ConsistencyService } from './consistency/consistency.service.js';
import { GlobalUserSyncService } from './global-user-sync.service.js';
import { SyncScheduler } from './sync-scheduler.service.js';
import { SyncSender, type SyncPassResult } from './sync-sender.service.js';
import { SyncMetrics } from './sync.metrics.js';

/**
 * A crashed replica's running sync is found stalled and re-run within about SYNC_LOCK_MS + SYNC_STALLED_CHECK_MS
 * (BullMQ's defaults are 30 s each). Re-running is safe: cursors only move on the receiver's success reply and
 * receivers apply idempotently.
 */
@Processor(QueueName.Sync, { lockDuration: SYNC_LOCK_MS, stalledInterval: SYNC_STALLED_CHECK_MS })
export class SyncProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger(SyncProcessor.name);
  /** Jobs running in this replica per remote: a slow remote may hold only a few of the worker's slots. */
  private readonly activePerRemote = new Map<string, number>();
  /** Jobs waiting in this replica for one of their remote's slots, first come first served. */
  private readonly slotWaiters = new Map<string, Array<() => void>>();
  /** Jobs sent back to the queue recently per remote because its slots and waiting places were taken. */
  private readonly bouncedPerRemote = new Map<string, number>();
  /** Backfill jobs running in this replica: history holds at most BACKFILL_JOBS_PER_REPLICA slots. */
  private activeBackfills = 0;

  constructor(
    private readonly sender: SyncSender,
    private readonly scheduler: SyncScheduler,
    private readonly globalUsers: GlobalUserSyncService,
    private readonly consistency: ConsistencyService,
    private readonly consistencyScheduler: ConsistencyScheduler,
    private readonly backfills: BackfillService,
    private readonly metrics: SyncMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.sync.concurrency;
  }

  async process(job: Job, token?: string): Promise<unknown> {
    this.metrics.jobs.inc({ name: job.name });
    switch (job.name as JobName) {
      case JobName.SyncChannel:
        return this.syncChannel(job as Job<JobPayloads[JobName.SyncChannel]>, token);
      case JobName.SyncSweep:
        return { scheduled: await this.scheduler.sweep(), backfills: await this.backfills.sweep() };
      case JobName.SyncBackfill:
        return this.backfill(job as Job<JobPayloads[JobName.SyncBackfill]>, token);
      case JobName.GlobalUserSync: {
        const { remote_id: remoteId } = job.data as JobPayloads[JobName.GlobalUserSync];
        const result = await this.globalUsers.run(remoteId);
        if (result.more) await this.scheduler.scheduleGlobalUserSync(remoteId);
        return result;
      }
      case JobName.ConsistencySweep:
        return { scheduled: await this.consistencyScheduler.sweep() };
      case JobName.ConsistencyCheck: {
        const { channel_id: channelId, remote_id: remoteId } = job.data as JobPayloads[JobName.ConsistencyCheck];
        // null: a check of the pair is running already (an admin's, say); this one has nothing to add.
        return (await this.consistency.check(channelId, remoteId)) ?? { skipped: 'running' };
      }
      default:
        // Retrying cannot give it a handler.
        throw new UnrecoverableError(`no handler for job ${job.name} on ${QueueName.Sync}`);
    }
  }

  /**
   * A slice of a history backfill. Its job carries a priority, so it only starts when no live sync job waits; it walks
   * for BACKFILL_JOB_BUDGET_MS, then queues its successor (behind any live job that arrived meanwhile). Progress
   * (items sent of items to send, ETA) is the job's progress in Bull Board.
   */
  private async backfill(job: Job<JobPayloads[JobName.SyncBackfill]>, token?: string): Promise<BackfillRunResult> {
    const { channel_id: channelId, remote_id: remoteId } = job.data;
    if (this.activeBackfills >= BACKFILL_JOBS_PER_REPLICA && token) {
      await job.moveToDelayed(Date.now() + BACKFILL_BUSY_DELAY_MS, token);
      throw new DelayedError();
    }
    this.activeBackfills++;
    try {
      const result = await this.backfills.run(channelId, remoteId, Date.now() + BACKFILL_JOB_BUDGET_MS, (p) => job.updateProgress({ ...p }));
      // Items live sync held for the posts just handed over, or posts changed meanwhile: its pass goes now.
      if (result.liveDue) await this.scheduler.enqueue(channelId, remoteId, 0);
      if (result.more) await this.backfills.enqueue(channelId, remoteId);
      return result;
    } finally {
      this.activeBackfills--;
    }
  }

  private async syncChannel(job: Job<JobPayloads[JobName.SyncChannel]>, token?: string): Promise<SyncPassResult> {
    const { channel_id: channelId, remote_id: remoteId } = job.data;
    if (!(await this.takeRemoteSlot(remoteId)) && token) {
      await job.moveToDelayed(Date.now() + this.busyDelayMs(remoteId), token);
      throw new DelayedError();
    }
    try {
      // A backlog is drained batch after batch within one job (no queue round trip between batches); what is
      // left after the budget goes to a fresh job, so other channels get the slot in between.
      const deadline = Date.now() + SYNC_JOB_BUDGET_MS;
      const result = await this.sender.run(channelId, remoteId);
      while (result.more && Date.now() < deadline) {
        const next = await this.sender.run(channelId, remoteId);
        for (const k of Object.keys(result.sent) as Array<keyof SyncPassResult['sent']>) result.sent[k] += next.sent[k];
        result.more = next.more;
        result.offline = next.offline;
      }
      if (result.more) await this.scheduler.enqueue(channelId, remoteId, 0);
      return result;
    } finally {
      this.releaseRemoteSlot(remoteId);
    }
  }

  /**
   * One of the remote's SYNC_PER_REMOTE_CONCURRENCY slots in this replica. When they are all taken, up to as many
   * jobs again wait here for one (a change spread over many channels makes a burst of short jobs for one remote:
   * sending each back to the queue to try again every 100 ms cost more Redis round trips than the passes themselves);
   * beyond that (a slow remote), false: the job goes back to the queue, so one remote holds at most twice its share
   * of the worker's slots. A waiting job holds a worker slot too: none waits where the remote's running and waiting
   * jobs would leave the others less than SYNC_PER_REMOTE_CONCURRENCY slots (a small worker never waits).
   */
  private async takeRemoteSlot(remoteId: string): Promise<boolean> {
    const limit = this.config.sync.perRemoteConcurrency;
    const active = this.activePerRemote.get(remoteId) ?? 0;
    if (active < limit) {
      this.activePerRemote.set(remoteId, active + 1);
      return true;
    }
    const waiting = this.slotWaiters.get(remoteId) ?? [];
    if (waiting.length >= limit || active + waiting.length + 1 > this.config.sync.concurrency - limit) return false;
    this.slotWaiters.set(remoteId, waiting);
    // Woken by a finishing job, which hands its slot over (the active count stays as it is).
    await new Promise<void>((resolve) => waiting.push(resolve));
    return true;
  }

  private releaseRemoteSlot(remoteId: string): void {
    const waiting = this.slotWaiters.get(remoteId);
    const next = waiting?.shift();
    if (waiting && !waiting.length) this.slotWaiters.delete(remoteId);
    if (next) return next();
    const n = (this.activePerRemote.get(remoteId) ?? 1) - 1;
    if (n > 0) this.activePerRemote.set(remoteId, n);
    else this.activePerRemote.delete(remoteId);
  }

  /**
   * How long a job that found its remote's slots and waiting places taken stays away: the more jobs of that remote
   * were sent away recently, the later each comes back (by its place: a step later for every twice-the-limit of them), so a burst
   * of hundreds comes back spread out instead of all polling again every PER_REMOTE_BUSY_DELAY_MS.
   */
  private busyDelayMs(remoteId: string): number {
    const n = (this.bouncedPerRemote.get(remoteId) ?? 0) + 1;
    this.bouncedPerRemote.set(remoteId, n);
    const delay = PER_REMOTE_BUSY_DELAY_MS * (1 + Math.floor((n - 1) / (2 * this.config.sync.perRemoteConcurrency)));
    setTimeout(() => {
      const left = (this.bouncedPerRemote.get(remoteId) ?? 1) - 1;
      if (left > 0) this.bouncedPerRemote.set(remoteId, left);
      else this.bouncedPerRemote.delete(remoteId);
    }, delay).unref();
    return delay;
  }
}
