import { BullModule } from '@nestjs/bullmq';
import type { RedisOptions } from 'bullmq';
import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { redisOptions } from '../redis/redis-options.js';
import { BullBoardService } from './bull-board.service.js';
import { JobProducer } from './job-producer.js';
import { DEFAULT_JOB_OPTIONS } from './queue.constants.js';

/** BullMQ on the instance's Redis with its own key prefix, so instances sharing a Redis never see each other's jobs. */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        // ioredis options (bullmq's own RedisOptions type is a narrower copy of them).
        connection: { ...redisOptions(config.redis), maxRetriesPerRequest: null } as RedisOptions,
        prefix: `${config.redis.queuePrefix}:bull`,
        defaultJobOptions: DEFAULT_JOB_OPTIONS,
      }),
    }),
  ],
  providers: [JobProducer, BullBoardService],
  exports: [JobProducer, BullBoardService],
})
export class QueueModule {}
