import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { QueueName } from '../../queue/queue.constants.js';
import { AuthModule } from '../auth/auth.module.js';
import { ChatModule } from '../chat/chat.module.js';
import { RemoteClusterModule } from '../remote-cluster/remote-cluster.module.js';
import { MembershipModule } from '../membership/membership.module.js';
import { SharedChannelModule } from '../shared-channel/shared-channel.module.js';
import { UploadsModule } from '../uploads/uploads.module.js';
import { GlobalUserSyncController } from './global-user-sync.controller.js';
import { GlobalUserSyncCursorEntity } from './global-user-sync-cursor.entity.js';
import { GlobalUserSyncService } from './global-user-sync.service.js';
import { PostRetryEntity } from './post-retry.entity.js';
import { SyncController } from './sync.controller.js';
import { SyncMetrics } from './sync.metrics.js';
import { SyncProcessor } from './sync.processor.js';
import { SyncRepository } from './sync.repository.js';
import { SyncReceiver } from './sync-receiver.service.js';
import { SyncScheduler } from './sync-scheduler.service.js';
import { SyncSender } from './sync-sender.service.js';

/** The sync engine: change-driven, batched, cursor-tracked and retried delivery of shared channels to remotes. */
@Module({
  imports: [
    AuthModule,
    ChatModule,
    RemoteClusterModule,
    SharedChannelModule,
    MembershipModule,
    UploadsModule,
    TypeOrmModule.forFeature([PostRetryEntity, GlobalUserSyncCursorEntity]),
    BullModule.registerQueue({ name: QueueName.Sync }),
  ],
  controllers: [SyncController, GlobalUserSyncController],
  providers: [SyncRepository, SyncMetrics, SyncSender, SyncReceiver, SyncScheduler, SyncProcessor, GlobalUserSyncService],
  exports: [SyncScheduler, SyncSender],
})
export class SyncModule {}
