import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import { JobName, QueueName } from '../../queue/queue.constants.js';
import { AuthService } from './auth.service.js';

@Processor(QueueName.Maintenance)
export class MaintenanceProcessor extends WorkerHost {
  private readonly logger = new Logger(MaintenanceProcessor.name);

  constructor(private readonly auth: AuthService) {
    super();
  }

  async process(job: Job): Promise<{ deleted: number }> {
    switch (job.name as JobName) {
      case JobName.SessionCleanup: {
        const deleted = await this.auth.deleteExpiredSessions();
        if (deleted) this.logger.log(`deleted ${deleted} expired sessions`);
        return { deleted };
      }
      default:
        throw new Error(`no handler for job ${job.name} on ${QueueName.Maintenance}`);
    }
  }
}
