import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import type { JobsOptions, Queue } from 'bullmq';
import { Gauge } from 'prom-client';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { BullBoardService } from '../../queue/bull-board.service.js';
import { JobProducer } from '../../queue/job-producer.js';
import { JobName, QueueName } from '../../queue/queue.constants.js';
import { ConnectionStateService } from './connection-state.service.js';
import { RemoteClusterClient, RemoteClusterTransportError } from './remote-cluster.client.js';
import { isConfirmed, isPlugin } from './remote-cluster.entity.js';
import { RemoteClusterRepository } from './remote-cluster.repository.js';

/**
 * One ping per remote at a time: the job id is the remote's, so a ping still waiting or running (a slow peer
 * inside its 15 s timeout) absorbs the next round's instead of piling up. A ping is not retried; the next
 * round is the retry. Finished ping jobs are removed so the id is free again.
 */
export function pingJobOptions(remoteId: string): JobsOptions {
  return { jobId: `ping-${remoteId}`, attempts: 1, removeOnComplete: true, removeOnFail: true };
}

export type PingOutcome = 'online' | 'failed' | 'skipped';

/**
 * The heartbeat. A BullMQ job scheduler (one id for every replica sharing the queue prefix, so the cluster
 * triggers one round per PING_INTERVAL_MS however many replicas run) fires PingRemotes; the round marks stale
 * remotes offline and enqueues one PingRemote per confirmed remote, which any replica's worker may take.
 * State changes are decided by conditional database updates, so each is announced by exactly one replica.
 */
@Injectable()
export class RemoteClusterHeartbeatService implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger(RemoteClusterHeartbeatService.name);

  constructor(
    private readonly remotes: RemoteClusterRepository,
    private readonly client: RemoteClusterClient,
    private readonly connectionState: ConnectionStateService,
    private readonly jobs: JobProducer,
    private readonly board: BullBoardService,
    @InjectQueue(QueueName.RemoteCluster) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    const repo = this.remotes;
    const offlineAfterMs = config.remoteCluster.offlineAfterMs;
    // Read at scrape time from the database, so every replica reports the same state (whichever replica pinged).
    new Gauge({
      name: 'remote_cluster_online',
      help: 'Whether each confirmed remote answered a ping within REMOTE_OFFLINE_AFTER_MS (1) or not (0)',
      labelNames: ['remote_id'],
      registers: [metrics.registry],
      async collect() {
        const rows = await repo.findPingTargetsLastPing();
        const now = Date.now();
        this.reset();
        for (const r of rows) this.set({ remote_id: r.remote_id }, r.last_ping_at > now - offlineAfterMs ? 1 : 0);
      },
    });
  }

  onModuleInit(): void {
    this.board.addQueue(this.queue);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.schedule(JobName.PingRemotes, this.config.remoteCluster.pingIntervalMs, {});
  }

  /** Ping a remote now (after accept or confirm) rather than at the next round. */
  async pingSoon(remoteId: string): Promise<void> {
    await this.jobs.enqueue(JobName.PingRemote, { remote_id: remoteId }, pingJobOptions(remoteId));
  }

  /** One heartbeat round: announce remotes whose pings stopped succeeding, then ping every confirmed remote. */
  async runRound(now = Date.now()): Promise<{ pinged: number; wentOffline: number }> {
    const wentOffline = await this.sweepOffline(now);
    const ids = await this.remotes.findPingTargetIds();
    await Promise.all(ids.map((id) => this.pingSoon(id)));
    return { pinged: ids.length, wentOffline };
  }

  /** Ping one remote and record the outcome; a failed ping is an outcome, not a job failure. */
  async pingRemote(remoteId: string): Promise<PingOutcome> {
    const rc = await this.remotes.findActiveById(remoteId);
    if (!rc || !isConfirmed(rc) || isPlugin(rc)) return 'skipped';
    try {
      await this.client.ping({ remote_id: rc.remote_id, site_url: rc.site_url, token: rc.remote_token });
    } catch (err) {
      if (!(err instanceof RemoteClusterTransportError)) throw err;
      if (err.kind === 'denied') {
        // A connection made before the outbound policy, to an address it refuses: say so at every round.
        this.logger.warn({ remote_id: remoteId, err: err.message }, 'ping refused by the outbound policy (REMOTE_ALLOWED_NETWORKS)');
      } else {
        this.logger.debug({ remote_id: remoteId, kind: err.kind, err: err.message }, 'ping failed');
      }
      // Flip now if this failure makes the last success too old, rather than waiting for the next round.
      this.announceOffline(await this.remotes.markOfflineIfStale(Date.now() - this.config.remoteCluster.offlineAfterMs, remoteId));
      return 'failed';
    }
    const at = Date.now();
    const recorded = await this.remotes.recordPingSuccess(remoteId, at);
    if (recorded && !recorded.wasOnline) this.connectionState.emit({ remote_id: remoteId, online: true, at });
    return 'online';
  }

  /** Marks offline every remote announced online whose last successful ping is older than the window. */
  async sweepOffline(now = Date.now()): Promise<number> {
    const flipped = await this.remotes.markOfflineIfStale(now - this.config.remoteCluster.offlineAfterMs);
    this.announceOffline(flipped);
    return flipped.length;
  }

  private announceOffline(remoteIds: string[]): void {
    const at = Date.now();
    for (const id of remoteIds) this.connectionState.emit({ remote_id: id, online: false, at });
  }
}
