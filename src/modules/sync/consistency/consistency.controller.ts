import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AppError } from '../../../common/app-error.js';
import { IdParamPipe } from '../../../common/id-param.pipe.js';
import { RequirePermission } from '../../auth/auth.decorators.js';
import { Permission } from '../../auth/permissions.js';
import { SharedChannelStore } from '../../shared-channel/shared-channel-store.service.js';
import { SyncRepository } from '../sync.repository.js';
import type { ChannelConsistencyEntity } from './channel-consistency.entity.js';
import { ConsistencyRepository } from './consistency.repository.js';
import { ConsistencyService } from './consistency.service.js';

/** The consistency check of a shared channel with one remote, as an admin reads it. */
export interface ConsistencyJson {
  channel_id: string;
  remote_id: string;
  /** What the remote is: 'mmfed' (checked), 'mattermost' (not supported: skipped), 'unknown' (not asked yet). */
  peer: string;
  last_check_at: number;
  /** consistent | repaired | divergent | not_supported | error; '' before the first check. */
  last_result: string;
  last_error: string;
  divergent: number;
  repaired: number;
  counts: ChannelConsistencyEntity['counts'];
  digest_bytes: number;
  repair_bytes: number;
  duration_ms: number;
  checks: number;
  divergent_total: number;
  repaired_total: number;
  next_check_at: number;
}

/**
 * GET the last consistency check of a shared channel with a remote (when, result, what differed and was repaired,
 * what it cost); POST runs one now and answers with its outcome (409 while another check of the pair runs).
 */
@ApiTags('shared channels')
@Controller('api/v4/sharedchannels/:channel_id/remotes/:remote_id/consistency')
export class ConsistencyController {
  constructor(
    private readonly repo: ConsistencyRepository,
    private readonly syncRepo: SyncRepository,
    private readonly shares: SharedChannelStore,
    private readonly service: ConsistencyService,
  ) {}

  @Get()
  @RequirePermission(Permission.ManageSharedChannels)
  async get(@Param('channel_id', IdParamPipe) channelId: string, @Param('remote_id', IdParamPipe) remoteId: string): Promise<ConsistencyJson> {
    await this.assertShared(channelId, remoteId);
    return this.json(channelId, remoteId);
  }

  @Post()
  @HttpCode(200)
  @RequirePermission(Permission.ManageSharedChannels)
  async run(@Param('channel_id', IdParamPipe) channelId: string, @Param('remote_id', IdParamPipe) remoteId: string): Promise<ConsistencyJson> {
    await this.assertShared(channelId, remoteId);
    const report = await this.service.check(channelId, remoteId);
    if (!report) throw new AppError('app.sync.consistency.running', 'A consistency check of this channel with this remote is running.', 409);
    return this.json(channelId, remoteId);
  }

  private async assertShared(channelId: string, remoteId: string): Promise<void> {
    const scr = await this.shares.findRemote(channelId, remoteId);
    if (!scr || scr.delete_at) throw AppError.notFound('app.sync.consistency.not_shared', 'The channel is not shared with this remote.');
  }

  private async json(channelId: string, remoteId: string): Promise<ConsistencyJson> {
    const [row, peer] = await Promise.all([this.repo.find(channelId, remoteId), this.syncRepo.peerKind(remoteId)]);
    return {
      channel_id: channelId,
      remote_id: remoteId,
      peer,
      last_check_at: row?.last_check_at ?? 0,
      last_result: row?.last_result ?? '',
      last_error: row?.last_error ?? '',
      divergent: row?.divergent ?? 0,
      repaired: row?.repaired ?? 0,
      counts: row?.counts ?? {},
      digest_bytes: row?.digest_bytes ?? 0,
      repair_bytes: row?.repair_bytes ?? 0,
      duration_ms: row?.duration_ms ?? 0,
      checks: row?.checks ?? 0,
      divergent_total: row?.divergent_total ?? 0,
      repaired_total: row?.repaired_total ?? 0,
      next_check_at: row?.next_check_at ?? 0,
    };
  }
}
