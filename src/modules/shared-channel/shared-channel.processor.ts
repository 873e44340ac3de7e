import { Processor, WorkerHost } from '@nestjs/bullmq';
import { type Job, UnrecoverableError } from 'bullmq';
import { JobName, type JobPayloads, QueueName } from '../../queue/queue.constants.js';
import { SharedChannelService } from './shared-channel.service.js';

/**
 * The shared-channel queue: deliveries owed to peers that no connection-state event will ever trigger again (a
 * deleted connection is not pinged). A job that leaves anything undelivered fails, and BullMQ retries it with backoff
 * (UNSHARE_DELIVERY_ATTEMPTS); the rows stay marked (unshare_pending) whatever happens, and are offered again at start.
 */
@Processor(QueueName.SharedChannel)
export class SharedChannelProcessor extends WorkerHost {
  constructor(private readonly shares: SharedChannelService) {
    super();
  }

  async process(job: Job): Promise<{ undelivered: number }> {
    switch (job.name as JobName) {
      case JobName.DeliverUnshares: {
        const { remote_id } = job.data as JobPayloads[JobName.DeliverUnshares];
        const undelivered = await this.shares.deliverPendingUnshares(remote_id);
        if (undelivered) throw new Error(`${undelivered} unshare(s) for remote ${remote_id} not delivered yet`);
        return { undelivered };
      }
      default:
        throw new UnrecoverableError(`no handler for job ${job.name} on ${QueueName.SharedChannel}`);
    }
  }
}
