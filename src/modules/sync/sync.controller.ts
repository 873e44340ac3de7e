import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { AppError } from '../../common/app-error.js';
import { IdParamPipe } from '../../common/id-param.pipe.js';
import { PageQuery } from '../../common/pagination.js';
import { RequirePermission } from '../auth/auth.decorators.js';
import { Permission } from '../auth/permissions.js';
import { SyncRepository } from './sync.repository.js';
import { RETRY_KINDS } from './sync-retry.entity.js';
import { SyncScheduler } from './sync-scheduler.service.js';

/**
 * Operators' view of items a remote did not take: refused and retrying with backoff, waiting for a post the remote
 * lacks (`waiting_for`), or parked (refused SYNC_POST_MAX_ATTEMPTS times, or too large for it even alone); and a way
 * to retry one now.
 */
@ApiTags('shared channels')
@Controller('api/v4/sharedchannels/sync')
export class SyncController {
  constructor(
    private readonly repo: SyncRepository,
    private readonly scheduler: SyncScheduler,
  ) {}

  @Get('rejected')
  @RequirePermission(Permission.ManageSharedChannels)
  @ApiQuery({ name: 'remote_id', required: false })
  @ApiQuery({ name: 'parked', required: false, type: Boolean })
  @ApiQuery({ name: 'kind', required: false, enum: RETRY_KINDS })
  async list(@Query() page: PageQuery, @Query('remote_id') remoteId?: string, @Query('parked') parked?: string, @Query('kind') kind?: string) {
    if (remoteId !== undefined && !/^[a-z0-9]{26}$/.test(remoteId)) throw AppError.invalidParam('remote_id');
    if (kind !== undefined && !(RETRY_KINDS as readonly string[]).includes(kind)) throw AppError.invalidParam('kind');
    return this.repo.listRetries({
      remoteId,
      kind,
      parked: parked === undefined ? undefined : parked === 'true',
      offset: page.page * page.per_page,
      limit: page.per_page,
    });
  }

  @Post('rejected/:id/retry')
  @HttpCode(200)
  @RequirePermission(Permission.ManageSharedChannels)
  async retry(@Param('id', IdParamPipe) id: string) {
    const row = await this.repo.findRetry(id);
    if (!row) throw AppError.notFound('app.sync.rejected.not_found', 'No such rejected item.');
    await this.repo.unpark(id, Date.now());
    await this.scheduler.enqueue(row.channel_id, row.remote_id, 0);
    return { status: 'OK' };
  }
}
