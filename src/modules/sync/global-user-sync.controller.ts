import { Controller, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import { AppError } from '../../common/app-error.js';
import { IdParamPipe } from '../../common/id-param.pipe.js';
import { RequirePermission } from '../auth/auth.decorators.js';
import { Permission } from '../auth/permissions.js';
import { RemoteClusterService } from '../remote-cluster/remote-cluster.service.js';
import { GlobalUserSyncService } from './global-user-sync.service.js';
import { SyncScheduler } from './sync-scheduler.service.js';

/** An admin's request for a global user sync (protocol 6.4) with one secure connection; the sync queue runs it. */
@ApiTags('remote clusters')
@Controller('api/v4/remotecluster')
export class GlobalUserSyncController {
  constructor(
    private readonly remotes: RemoteClusterService,
    private readonly sync: GlobalUserSyncService,
    private readonly scheduler: SyncScheduler,
  ) {}

  @Post(':remote_id/sync_users')
  @HttpCode(200)
  @RequirePermission(Permission.ManageSecureConnections)
  @ApiQuery({ name: 'full', required: false, type: Boolean, description: 'Send every local user again, not only those changed since the last run' })
  @ApiOkResponse({ description: '{"status":"OK"}: queued; users changed since the last run go out in batches of 25' })
  async syncUsers(@Param('remote_id', IdParamPipe) remoteId: string, @Query('full') full?: string): Promise<{ status: 'OK' }> {
    if (!this.sync.enabled) {
      throw new AppError('api.remote_cluster.global_user_sync_disabled.app_error', 'Global user sync is disabled on this server (ENABLE_GLOBAL_USER_SYNC).', 501);
    }
    const remote = await this.remotes.getRemote(remoteId);
    if (!remote) throw AppError.notFound('api.remote_cluster.get.not_found', 'Unable to find the secure connection.');
    if (full === 'true') await this.sync.reset(remoteId);
    await this.scheduler.scheduleGlobalUserSync(remoteId);
    return { status: 'OK' };
  }
}
