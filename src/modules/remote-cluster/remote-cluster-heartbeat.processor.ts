import { Processor, WorkerHost } from '@nestjs/bullmq';
import { type Job, UnrecoverableError } from 'bullmq';
import { JobName, type JobPayloads, QueueName } from '../../queue/queue.constants.js';
import { type PingOutcome, RemoteClusterHeartbeatService } from './remote-cluster-heartbeat.service.js';
import { DeliveryTrace } from './trace/delivery-trace.service.js';

/** Pings in flight per replica (Mattermost runs 10 pingers); each peer has its own timeout and sockets. */
export const PING_CONCURRENCY = 10;

@Processor(QueueName.RemoteCluster, { concurrency: PING_CONCURRENCY })
export class RemoteClusterHeartbeatProcessor extends WorkerHost {
  constructor(
    private readonly heartbeat: RemoteClusterHeartbeatService,
    private readonly trace: DeliveryTrace,
  ) {
    super();
  }

  async process(job: Job): Promise<{ pinged: number; wentOffline: number } | PingOutcome | { envelopes: number; items: number }> {
    switch (job.name as JobName) {
      case JobName.PingRemotes:
        return this.heartbeat.runRound();
      case JobName.PingRemote:
        return this.heartbeat.pingRemote((job.data as JobPayloads[JobName.PingRemote]).remote_id);
      case JobName.TracePrune:
        return this.trace.prune();
      default:
        throw new UnrecoverableError(`no handler for job ${job.name} on ${QueueName.RemoteCluster}`);
    }
  }
}
