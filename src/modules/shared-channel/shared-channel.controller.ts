import { Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { IdParamPipe, UserIdParamPipe } from '../../common/id-param.pipe.js';
import { PageQuery } from '../../common/pagination.js';
import type { AuthContext } from '../auth/auth-context.js';
import { Authenticated, CurrentAuth, RequirePermission } from '../auth/auth.decorators.js';
import { Permission } from '../auth/permissions.js';
import { InviteRemoteQuery, RemoteInfoQuery, SharedChannelRemotesQuery } from './dto/shared-channel.dto.js';
import {
  type RemoteClusterInfoJson,
  type SharedChannelJson,
  type SharedChannelRemoteJson,
  toSharedChannelJson,
  toSharedChannelRemoteJson,
} from './shared-channel.mapper.js';
import { SharedChannelService } from './shared-channel.service.js';

const OK = { status: 'OK' } as const;

/**
 * Mattermost's shared-channel routes (protocol section 10). Invite and uninvite are reachable both where
 * Mattermost (and Client4's sharedChannelRemoteInvite) has them, under /remotecluster/{remote_id}/channels/
 * {channel_id}, and under /channels/{channel_id}/remotes/{remote_id}.
 */
@ApiTags('shared channels')
@Controller('api/v4')
export class SharedChannelController {
  constructor(private readonly shares: SharedChannelService) {}

  @Post('remotecluster/:remote_id/channels/:channel_id/invite')
  @Authenticated()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Share the channel (if needed) and invite the remote',
    description:
      'manage_shared_channels (system admins, or the system_shared_channel_manager role), on a channel the caller can see. ' +
      'Only the channel\'s home server invites. ' +
      'An offline remote gets the invite when it is back; an online one must accept now (502 with its reason otherwise).',
  })
  @ApiOkResponse({ description: '{"status":"OK"}' })
  async invite(
    @CurrentAuth() auth: AuthContext,
    @Param('remote_id', IdParamPipe) remoteId: string,
    @Param('channel_id', IdParamPipe) channelId: string,
    @Query() query: InviteRemoteQuery,
  ) {
    await this.shares.invite(auth, remoteId, channelId, query);
    return OK;
  }

  @Post('channels/:channel_id/remotes/:remote_id/invite')
  @Authenticated()
  @HttpCode(200)
  @ApiOperation({ summary: 'Same as POST /remotecluster/{remote_id}/channels/{channel_id}/invite' })
  @ApiOkResponse({ description: '{"status":"OK"}' })
  inviteByChannel(
    @CurrentAuth() auth: AuthContext,
    @Param('channel_id', IdParamPipe) channelId: string,
    @Param('remote_id', IdParamPipe) remoteId: string,
    @Query() query: InviteRemoteQuery,
  ) {
    return this.invite(auth, remoteId, channelId, query);
  }

  @Post('remotecluster/:remote_id/channels/:channel_id/uninvite')
  @Authenticated()
  @HttpCode(200)
  @ApiOperation({ summary: 'Uninvite the remote; the remote is told, now or when it is back. No remote left: the channel is unshared' })
  @ApiOkResponse({ description: '{"status":"OK"}' })
  @ApiNoContentResponse({ description: 'The channel is not shared with that remote' })
  async uninvite(
    @CurrentAuth() auth: AuthContext,
    @Param('remote_id', IdParamPipe) remoteId: string,
    @Param('channel_id', IdParamPipe) channelId: string,
    @Res({ passthrough: true }) res: Response,
  ) {
    if (await this.shares.uninvite(auth, remoteId, channelId)) return OK;
    res.status(204);
    return undefined;
  }

  @Post('channels/:channel_id/remotes/:remote_id/uninvite')
  @Authenticated()
  @HttpCode(200)
  @ApiOperation({ summary: 'Same as POST /remotecluster/{remote_id}/channels/{channel_id}/uninvite' })
  @ApiOkResponse({ description: '{"status":"OK"}' })
  @ApiNoContentResponse({ description: 'The channel is not shared with that remote' })
  uninviteByChannel(
    @CurrentAuth() auth: AuthContext,
    @Param('channel_id', IdParamPipe) channelId: string,
    @Param('remote_id', IdParamPipe) remoteId: string,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.uninvite(auth, remoteId, channelId, res);
  }

  @Get('remotecluster/:remote_id/sharedchannelremotes')
  @RequirePermission(Permission.ManageSecureConnections)
  @ApiOkResponse({ description: '[SharedChannelRemote]' })
  async remotesOfRemote(@Param('remote_id', IdParamPipe) remoteId: string, @Query() query: SharedChannelRemotesQuery): Promise<SharedChannelRemoteJson[]> {
    return (await this.shares.remotesOfRemote(remoteId, query)).map(toSharedChannelRemoteJson);
  }

  @Get('sharedchannels/remote_info/:remote_id')
  @Authenticated()
  @ApiOkResponse({ description: 'RemoteClusterInfo; only for members of a channel shared with that remote' })
  remoteInfo(@CurrentAuth() auth: AuthContext, @Param('remote_id', IdParamPipe) remoteId: string, @Query() query: RemoteInfoQuery): Promise<RemoteClusterInfoJson> {
    return this.shares.remoteInfo(auth, remoteId, query.include_deleted ?? false);
  }

  @Get('sharedchannels/users/:user_id/can_dm/:other_user_id')
  @Authenticated()
  @ApiOkResponse({ description: '{"can_dm": bool}' })
  async canDirectMessage(
    @CurrentAuth() auth: AuthContext,
    @Param('user_id', UserIdParamPipe) userId: string,
    @Param('other_user_id', UserIdParamPipe) otherUserId: string,
  ): Promise<{ can_dm: boolean }> {
    return { can_dm: await this.shares.canDirectMessage(auth, userId, otherUserId) };
  }

  @Get('sharedchannels/:channel_id/remotes')
  @Authenticated()
  @ApiOkResponse({ description: '[RemoteClusterInfo] of the workspaces the channel is shared with' })
  channelRemotes(@CurrentAuth() auth: AuthContext, @Param('channel_id', IdParamPipe) channelId: string): Promise<RemoteClusterInfoJson[]> {
    return this.shares.channelRemoteInfos(auth, channelId);
  }

  @Get('sharedchannels/:team_id')
  @Authenticated()
  @ApiOkResponse({ description: '[SharedChannel] of the team (only the caller\'s channels unless they manage shared channels)' })
  async teamShares(@CurrentAuth() auth: AuthContext, @Param('team_id', IdParamPipe) teamId: string, @Query() query: PageQuery): Promise<SharedChannelJson[]> {
    return (await this.shares.listTeamShares(auth, teamId, query.page, query.per_page)).map(toSharedChannelJson);
  }
}
