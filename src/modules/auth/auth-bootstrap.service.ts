import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { BullBoardService } from '../../queue/bull-board.service.js';
import { JobProducer } from '../../queue/job-producer.js';
import { JobName, QueueName } from '../../queue/queue.constants.js';
import { AuthService } from './auth.service.js';

const SESSION_CLEANUP_EVERY_MS = 60 * 60 * 1000;

@Injectable()
export class AuthBootstrapService implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger(AuthBootstrapService.name);

  constructor(
    private readonly auth: AuthService,
    private readonly jobs: JobProducer,
    private readonly board: BullBoardService,
    @InjectQueue(QueueName.Maintenance) private readonly maintenance: Queue,
  ) {}

  onModuleInit(): void {
    this.board.addQueue(this.maintenance);
  }

  async onApplicationBootstrap(): Promise<void> {
    const result = await this.auth.ensureBootstrapAdmin();
    if (result === 'created') this.logger.log('created the bootstrap system admin from ADMIN_USERNAME');
    await this.jobs.schedule(JobName.SessionCleanup, SESSION_CLEANUP_EVERY_MS, {});
  }
}
