import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { AuthModule } from '../auth/auth.module.js';
import { ChannelAccess } from './channels/channel-access.service.js';
import { ChannelMemberEntity } from './channels/channel-member.entity.js';
import { ChannelEntity } from './channels/channel.entity.js';
import { ChannelRepository } from './channels/channel.repository.js';
import { ChannelsController } from './channels/channels.controller.js';
import { ChannelsService } from './channels/channels.service.js';
import { ChangeEventEntity } from './events/change-event.entity.js';
import { ChangeEventRepository } from './events/change-event.repository.js';
import { ChangeEventsService } from './events/change-events.service.js';
import { ChannelFeedRepository } from './feed/channel-feed.repository.js';
import { ChannelFeed } from './feed/channel-feed.service.js';
import { ChannelImportService } from './feed/channel-import.service.js';
import { FileInfoEntity } from './files/file-info.entity.js';
import { FileInfoRepository } from './files/file-info.repository.js';
import { FILE_STORE } from './files/file-store.js';
import { FilesController } from './files/files.controller.js';
import { FilesService } from './files/files.service.js';
import { LocalFileStore } from './files/local-file-store.js';
import { PostAcknowledgementEntity } from './posts/post-acknowledgement.entity.js';
import { PostEntity } from './posts/post.entity.js';
import { PostRepository } from './posts/post.repository.js';
import { PostsController } from './posts/posts.controller.js';
import { PostsService } from './posts/posts.service.js';
import { ReactionEntity } from './posts/reaction.entity.js';
import { ReactionsService } from './posts/reactions.service.js';
import { TeamMemberEntity } from './teams/team-member.entity.js';
import { TeamEntity } from './teams/team.entity.js';
import { TeamRepository } from './teams/team.repository.js';
import { TeamsController } from './teams/teams.controller.js';
import { TeamsService } from './teams/teams.service.js';
import { StatusEntity } from './users/status.entity.js';
import { StatusRepository } from './users/status.repository.js';
import { UsersProfileController } from './users/users.controller.js';
import { UsersProfileService } from './users/users-profile.service.js';

/**
 * The chat core: teams, channels, posts, reactions, acknowledgements, files, profiles and statuses, with
 * Mattermost's API v4 paths and JSON. It knows nothing of federation; every change is journalled and
 * published by ChangeEventsService as CHAT_CHANGE_EVENT, which the sync engine listens to.
 */
@Module({
  imports: [
    AuthModule,
    TypeOrmModule.forFeature([
      TeamEntity,
      TeamMemberEntity,
      ChannelEntity,
      ChannelMemberEntity,
      PostEntity,
      ReactionEntity,
      PostAcknowledgementEntity,
      FileInfoEntity,
      StatusEntity,
      ChangeEventEntity,
    ]),
  ],
  controllers: [TeamsController, ChannelsController, PostsController, FilesController, UsersProfileController],
  providers: [
    { provide: FILE_STORE, inject: [APP_CONFIG], useFactory: (config: AppConfig) => new LocalFileStore(config.files.dir) },
    TeamRepository,
    ChannelRepository,
    PostRepository,
    FileInfoRepository,
    StatusRepository,
    ChangeEventRepository,
    ChangeEventsService,
    ChannelAccess,
    TeamsService,
    ChannelsService,
    PostsService,
    ReactionsService,
    FilesService,
    UsersProfileService,
    ChannelFeedRepository,
    ChannelFeed,
    ChannelImportService,
  ],
  exports: [
    ChannelFeed,
    ChannelImportService,
    ChangeEventsService,
    ChannelAccess,
    TeamsService,
    ChannelsService,
    PostsService,
    ReactionsService,
    FilesService,
    UsersProfileService,
    FILE_STORE,
  ],
})
export class ChatModule {}
