import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { AppError } from '../../../common/app-error.js';
import { IdParamPipe } from '../../../common/id-param.pipe.js';
import { RequirePermission } from '../../auth/auth.decorators.js';
import { Permission } from '../../auth/permissions.js';
import { type BackfillJson, historySince, toBackfillJson } from '../../shared-channel/history.js';
import { SharedChannelStore } from '../../shared-channel/shared-channel-store.service.js';
import { BackfillService } from './backfill.service.js';

export class BackfillQuery {
  @ApiPropertyOptional({ description: 'all, or the number of days back (1-36500)', example: 'all' })
  @Matches(/^(?:all|[1-9]\d{0,4})$/, { message: 'history must be all or a number of days (1-36500)' })
  history!: string;
}

export interface BackfillStatusJson {
  channel_id: string;
  remote_id: string;
  /** null: no history was asked for. */
  backfill: BackfillJson | null;
}

/**
 * History on share, later (not in Mattermost): POST asks the channel's home to send the remote the channel's history
 * from before the share (`?history=all|<days>`), in the background; GET (and the shared-channel remote APIs) show
 * its progress.
 */
@ApiTags('shared channels')
@Controller('api/v4/sharedchannels/:channel_id/remotes/:remote_id/backfill')
export class BackfillController {
  constructor(
    private readonly backfills: BackfillService,
    private readonly shares: SharedChannelStore,
  ) {}

  @Post()
  @HttpCode(200)
  @RequirePermission(Permission.ManageSharedChannels)
  @ApiOperation({
    summary: "Send the remote the channel's history (all, or the last N days), oldest first, in the background",
    description: '409 while a walk is running and more is asked; asking for what is covered already changes nothing.',
  })
  @ApiOkResponse({ description: '{channel_id, remote_id, backfill: {state, since, items_total, items_sent, items_refused, started_at, finished_at, percent, eta_at}}' })
  async request(
    @Param('channel_id', IdParamPipe) channelId: string,
    @Param('remote_id', IdParamPipe) remoteId: string,
    @Query() query: BackfillQuery,
  ): Promise<BackfillStatusJson> {
    const scr = await this.backfills.request(channelId, remoteId, historySince(query.history, Date.now()));
    return { channel_id: channelId, remote_id: remoteId, backfill: toBackfillJson(scr) };
  }

  @Get()
  @RequirePermission(Permission.ManageSharedChannels)
  @ApiOkResponse({ description: 'The history backfill of the channel to the remote, null when none was asked for' })
  async get(@Param('channel_id', IdParamPipe) channelId: string, @Param('remote_id', IdParamPipe) remoteId: string): Promise<BackfillStatusJson> {
    const scr = await this.shares.findRemote(channelId, remoteId);
    if (!scr || scr.delete_at) throw AppError.notFound('app.sync.backfill.not_shared', 'The channel is not shared with this remote.');
    return { channel_id: channelId, remote_id: remoteId, backfill: toBackfillJson(scr) };
  }
}
