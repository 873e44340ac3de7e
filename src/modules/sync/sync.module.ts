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
import { BackfillController } from './backfill/backfill.controller.js';
import { BackfillRepository } from './backfill/backfill.repository.js';
import { BackfillService } from './backfill/backfill.service.js';
import { ChannelConsistencyEntity } from './consistency/channel-consistency.entity.js';
import { ConsistencyController } from './consistency/consistency.controller.js';
import { ConsistencyRepository } from './consistency/consistency.repository.js';
import { ConsistencyScheduler } from './consistency/consistency-scheduler.service.js';
import { ConsistencyService } from './consistency/consistency.service.js';
import { GlobalUserSyncController } from './global-user-sync.controller.js';
import { GlobalUserSyncCursorEntity } from './global-user-sync-cursor.entity.js';
import { GlobalUserSyncService } from './global-user-sync.service.js';
import { SyncPeerEntity } from './sync-peer.entity.js';
import { SyncRetryEntity } from './sync-retry.entity.js';
import { SyncTransport } from './sync-transport.service.js';
import { AcknowledgementStream } from './streams/acknowledgement.stream.js';
import { AttachmentStream } from './streams/attachment.stream.js';
import { ChannelDetailsStream } from './streams/channel-details.stream.js';
import { MembershipStream } from './streams/membership.stream.js';
import { PostStream } from './streams/post.stream.js';
import { ProfileImageStream } from './streams/profile-image.stream.js';
import { ReactionStream } from './streams/reaction.stream.js';
import { StatusStream } from './streams/status.stream.js';
import { UserStream } from './streams/user.stream.js';
import { SyncController } from './sync.controller.js';
import { SyncMetrics } from './sync.metrics.js';
import { SyncProcessor } from './sync.processor.js';
import { SyncRepository } from './sync.repository.js';
import { SyncReceiver } from './sync-receiver.service.js';
import { SyncScheduler } from './sync-scheduler.service.js';
import { SyncSender } from './sync-sender.service.js';

/**
 * The sync engine: change-driven, batched, cursor-tracked and retried delivery of shared channels to remotes, one
 * stream per kind of item; and the consistency check (anti-entropy) that finds and repairs what differs anyway.
 */
@Module({
  imports: [
    AuthModule,
    ChatModule,
    RemoteClusterModule,
    SharedChannelModule,
    MembershipModule,
    UploadsModule,
    TypeOrmModule.forFeature([SyncRetryEntity, SyncPeerEntity, GlobalUserSyncCursorEntity, ChannelConsistencyEntity]),
    BullModule.registerQueue({ name: QueueName.Sync }),
  ],
  controllers: [SyncController, GlobalUserSyncController, ConsistencyController, BackfillController],
  providers: [
    SyncRepository,
    SyncMetrics,
    SyncTransport,
    UserStream,
    MembershipStream,
    AttachmentStream,
    PostStream,
    AcknowledgementStream,
    ReactionStream,
    StatusStream,
    ProfileImageStream,
    ChannelDetailsStream,
    SyncSender,
    SyncReceiver,
    SyncScheduler,
    SyncProcessor,
    GlobalUserSyncService,
    ConsistencyRepository,
    ConsistencyService,
    ConsistencyScheduler,
    BackfillRepository,
    BackfillService,
  ],
  exports: [SyncScheduler, SyncSender],
})
export class SyncModule {}
