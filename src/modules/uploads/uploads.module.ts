import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module.js';
import { ChatModule } from '../chat/chat.module.js';
import { RemoteClusterModule } from '../remote-cluster/remote-cluster.module.js';
import { SharedChannelModule } from '../shared-channel/shared-channel.module.js';
import { AttachmentSender } from './attachment-sender.service.js';
import { ProfileImagesService } from './profile-images.service.js';
import { UploadSessionEntity } from './upload-session.entity.js';
import { UploadsController } from './uploads.controller.js';
import { UploadsRepository } from './uploads.repository.js';
import { UploadsService } from './uploads.service.js';

/**
 * File bytes between servers: attachments (sharedchannel_upload and the upload endpoint, resumable) and profile
 * images. The sync engine calls AttachmentSender before posts and ProfileImagesService after statuses.
 */
@Module({
  imports: [AuthModule, ChatModule, RemoteClusterModule, SharedChannelModule, TypeOrmModule.forFeature([UploadSessionEntity])],
  controllers: [UploadsController],
  providers: [UploadsRepository, UploadsService, AttachmentSender, ProfileImagesService],
  exports: [AttachmentSender, ProfileImagesService],
})
export class UploadsModule {}
