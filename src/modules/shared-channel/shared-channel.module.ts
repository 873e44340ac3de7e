import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module.js';
import { ChatModule } from '../chat/chat.module.js';
import { RemoteClusterModule } from '../remote-cluster/remote-cluster.module.js';
import { RemoteUsersService } from './remote-users.service.js';
import { SharedChannelAttachmentEntity } from './shared-channel-attachment.entity.js';
import { SharedChannelRemoteEntity } from './shared-channel-remote.entity.js';
import { SharedChannelUserEntity } from './shared-channel-user.entity.js';
import { SharedChannelEntity } from './shared-channel.entity.js';
import { SharedChannelRepository } from './shared-channel.repository.js';

/** Shared channels: shares, invited remotes and their cursors, the invitation and unshare topics, synthetic users. */
@Module({
  imports: [
    AuthModule,
    ChatModule,
    RemoteClusterModule,
    TypeOrmModule.forFeature([SharedChannelEntity, SharedChannelRemoteEntity, SharedChannelUserEntity, SharedChannelAttachmentEntity]),
  ],
  providers: [SharedChannelRepository, RemoteUsersService],
  exports: [SharedChannelRepository, RemoteUsersService],
})
export class SharedChannelModule {}
