import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Res } from '@nestjs/common';
import { ApiBody, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { AppError } from '../../../common/app-error.js';
import { IdParamPipe, UserIdParamPipe } from '../../../common/id-param.pipe.js';
import { PageQuery } from '../../../common/pagination.js';
import type { AuthContext } from '../../auth/auth-context.js';
import { Authenticated, CurrentAuth, RequirePermission } from '../../auth/auth.decorators.js';
import { Permission } from '../../auth/permissions.js';
import { toChannelJson, toChannelMemberJson } from './channel.mapper.js';
import { ChannelsService } from './channels.service.js';
import { AddChannelMemberDto, CreateChannelDto, parseUserIdArray, PatchChannelDto } from './dto/channel.dto.js';

const USER_ID_ARRAY = { schema: { type: 'array', items: { type: 'string', example: 'tewhd6bhj9buofu8fbiqnbfixg' } } };

@ApiTags('channels')
@Controller('api/v4')
export class ChannelsController {
  constructor(private readonly channels: ChannelsService) {}

  @Post('channels')
  @Authenticated()
  async create(@CurrentAuth() auth: AuthContext, @Body() body: CreateChannelDto) {
    return toChannelJson(await this.channels.create(auth, body));
  }

  @Post('channels/direct')
  @RequirePermission(Permission.CreateDirectChannel)
  @ApiBody(USER_ID_ARRAY)
  async direct(@CurrentAuth() auth: AuthContext, @Body() body: unknown, @Res({ passthrough: true }) res: Response) {
    const ids = parseUserIdArray(body, 1, 2);
    if (typeof ids === 'string') throw AppError.invalidBodyParam('user_ids', ids);
    const { channel, created } = await this.channels.direct(auth, ids);
    res.status(created ? 201 : 200);
    return toChannelJson(channel);
  }

  @Post('channels/group')
  @RequirePermission(Permission.CreateGroupChannel)
  @ApiBody(USER_ID_ARRAY)
  async group(@CurrentAuth() auth: AuthContext, @Body() body: unknown, @Res({ passthrough: true }) res: Response) {
    const ids = parseUserIdArray(body, 2, 8);
    if (typeof ids === 'string') throw AppError.invalidBodyParam('user_ids', ids);
    const { channel, created } = await this.channels.group(auth, ids);
    res.status(created ? 201 : 200);
    return toChannelJson(channel);
  }

  @Get('channels/:channel_id')
  @Authenticated()
  async get(@CurrentAuth() auth: AuthContext, @Param('channel_id', IdParamPipe) channelId: string) {
    return toChannelJson(await this.channels.get(auth, channelId));
  }

  @Put('channels/:channel_id/patch')
  @Authenticated()
  async patch(@CurrentAuth() auth: AuthContext, @Param('channel_id', IdParamPipe) channelId: string, @Body() body: PatchChannelDto) {
    return toChannelJson(await this.channels.patch(auth, channelId, body));
  }

  @Delete('channels/:channel_id')
  @Authenticated()
  async remove(@CurrentAuth() auth: AuthContext, @Param('channel_id', IdParamPipe) channelId: string) {
    await this.channels.remove(auth, channelId);
    return { status: 'OK' };
  }

  @Post('channels/:channel_id/members')
  @HttpCode(201)
  @Authenticated()
  async addMember(@CurrentAuth() auth: AuthContext, @Param('channel_id', IdParamPipe) channelId: string, @Body() body: AddChannelMemberDto) {
    return toChannelMemberJson(await this.channels.addMember(auth, channelId, body.user_id));
  }

  @Delete('channels/:channel_id/members/:user_id')
  @Authenticated()
  async removeMember(
    @CurrentAuth() auth: AuthContext,
    @Param('channel_id', IdParamPipe) channelId: string,
    @Param('user_id', UserIdParamPipe) userId: string,
  ) {
    await this.channels.removeMember(auth, channelId, userId === 'me' ? auth.userId : userId);
    return { status: 'OK' };
  }

  @Get('channels/:channel_id/members')
  @Authenticated()
  async members(@CurrentAuth() auth: AuthContext, @Param('channel_id', IdParamPipe) channelId: string, @Query() q: PageQuery) {
    return (await this.channels.listMembers(auth, channelId, q.page, q.per_page)).map(toChannelMemberJson);
  }

  @Get('users/:user_id/teams/:team_id/channels')
  @Authenticated()
  async myChannels(
    @CurrentAuth() auth: AuthContext,
    @Param('user_id', UserIdParamPipe) userId: string,
    @Param('team_id', IdParamPipe) teamId: string,
  ) {
    if (userId !== 'me' && userId !== auth.userId) throw AppError.forbidden();
    return (await this.channels.myChannelsInTeam(auth, teamId)).map(toChannelJson);
  }
}
