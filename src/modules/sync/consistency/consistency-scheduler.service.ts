import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { APP_CONFIG, type AppConfig } from '../../../config/app-config.js';
import { JobProducer } from '../../../queue/job-producer.js';
import { JobName } from '../../../queue/queue.constants.js';
import { CONNECTION_STATE_EVENT, type ConnectionStateChange } from '../../remote-cluster/connection-state.service.js';
import { ConsistencyRepository } from './consistency.repository.js';
import { ConsistencyService } from './consistency.service.js';

export function consistencyJobKey(channelId: string, remoteId: string): string {
  return `consistency:${remoteId}:${channelId}`;
}

/**
 * When consistency checks run. Cron only triggers: a BullMQ job scheduler fires ConsistencySweep a few dozen times per
 * CONSISTENCY_CHECK_INTERVAL_MS (once across replicas); the sweep enqueues a ConsistencyCheck for each pair that is
 * due, and the sync processor runs it. Each pair has its own slot in the period (a hash of the pair), so the checks of
 * many channels spread over the hour instead of coming all at once. Only a channel's home checks periodically (it is
 * the one server that shares the channel with every remote); either side may ask for one at any time.
 */
@Injectable()
export class ConsistencyScheduler implements OnApplicationBootstrap {
  private readonly logger = new Logger(ConsistencyScheduler.name);

  constructor(
    private readonly jobs: JobProducer,
    private readonly repo: ConsistencyRepository,
    private readonly service: ConsistencyService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** How often the trigger looks for due pairs: a sixtieth of the period, between 1 s and 1 min. */
  get triggerEveryMs(): number {
    return Math.min(60_000, Math.max(1_000, Math.floor(this.config.sync.consistencyIntervalMs / 60)));
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.sync.consistencyIntervalMs > 0) await this.jobs.schedule(JobName.ConsistencySweep, this.triggerEveryMs, {});
    else await this.jobs.unschedule(JobName.ConsistencySweep);
  }

  /** The trigger's work: one ConsistencyCheck job per due pair (deduplicated per pair). */
  async sweep(now = Date.now()): Promise<number> {
    const interval = this.config.sync.consistencyIntervalMs;
    if (interval <= 0) return 0;
    const due = await this.repo.claimDue(now, now - this.config.remoteCluster.offlineAfterMs, interval);
    for (const p of due) {
      await this.jobs.enqueue(JobName.ConsistencyCheck, { channel_id: p.channel_id, remote_id: p.remote_id }, { deduplication: { id: consistencyJobKey(p.channel_id, p.remote_id) } });
    }
    return due.length;
  }

  /** A remote came online: learn whether it is a server of this project (it answers our topic) or Mattermost. */
  @OnEvent(CONNECTION_STATE_EVENT)
  async onConnectionState(change: ConnectionStateChange): Promise<void> {
    if (!change.online) return;
    try {
      await this.service.probe(change.remote_id);
    } catch (err) {
      this.logger.warn({ remote_id: change.remote_id, err: err instanceof Error ? err.message : String(err) }, 'could not ask the remote what kind of server it is');
    }
  }
}
