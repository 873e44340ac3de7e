import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { QueueName } from '../../queue/queue.constants.js';
import { AuthModule } from '../auth/auth.module.js';
import { ChatModule } from '../chat/chat.module.js';
import { RemoteClusterModule } from '../remote-cluster/remote-cluster.module.js';
import { ChannelDetailsService } from './channel-details.service.js';
import { ConnectionTeardownService } from './connection-teardown.service.js';
import { RemoteUsersService } from './remote-users.service.js';
import { SharedChannelAttachmentEntity } from './shared-channel-attachment.entity.js';
import { SharedChannelEventsService } from './shared-channel-events.service.js';
import { SharedChannelInboundService } from './shared-channel-inbound.service.js';
import { SharedChannelRemoteEntity } from './shared-channel-remote.entity.js';
import { SharedChannelUserEntity } from './shared-channel-user.entity.js';
import { SharedChannelController } from './shared-channel.controller.js';
import { SharedChannelEntity } from './shared-channel.entity.js';
import { SharedChannelProcessor } from './shared-channel.processor.js';
import { SharedChannelRepository } from './shared-channel.repository.js';
import { SharedChannelStore } from './shared-channel-store.service.js';
import { SharedChannelService } from './shared-channel.service.js';

/**
 * Shared channels: shares, invited remotes and their cursors, the invitation and unshare topics, read-only shares,
 * synthetic users, channel details (mmfed_channel_details), and its part of deleting a connection (and the queue
 * that tells the peer afterwards). The sync engine uses the exported services and listens to SHARED_CHANNEL_EVENT.
 */
@Module({
  imports: [
    AuthModule,
    ChatModule,
    RemoteClusterModule,
    TypeOrmModule.forFeature([SharedChannelEntity, SharedChannelRemoteEntity, SharedChannelUserEntity, SharedChannelAttachmentEntity]),
    BullModule.registerQueue({ name: QueueName.SharedChannel }),
  ],
  controllers: [SharedChannelController],
  providers: [
    SharedChannelStore,
    SharedChannelRepository,
    RemoteUsersService,
    SharedChannelService,
    SharedChannelInboundService,
    SharedChannelEventsService,
    ConnectionTeardownService,
    SharedChannelProcessor,
    ChannelDetailsService,
  ],
  exports: [SharedChannelStore, RemoteUsersService, SharedChannelService, SharedChannelEventsService],
})
export class SharedChannelModule {}
