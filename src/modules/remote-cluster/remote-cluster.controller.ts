import { Body, Controller, Delete, Get, HttpCode, Ip, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { IdParamPipe } from '../../common/id-param.pipe.js';
import type { AuthContext } from '../auth/auth-context.js';
import { CurrentAuth, RequirePermission } from '../auth/auth.decorators.js';
import { Permission } from '../auth/permissions.js';
import {
  AcceptRemoteClusterInviteDto,
  CreateRemoteClusterDto,
  DeleteRemoteClusterQuery,
  GenerateInviteDto,
  ListRemoteClustersQuery,
  PatchRemoteClusterDto,
} from './dto/remote-cluster.dto.js';
import type { RemoteClusterJson } from './remote-cluster.mapper.js';
import { RemoteClusterService, type RemoteClusterWithInvite } from './remote-cluster.service.js';
import { RemoteClusterTokens } from './remote-cluster-tokens.service.js';

/** Secure connections for system admins (Mattermost's /api/v4/remotecluster management routes, section 10). */
@ApiTags('remote clusters')
@Controller('api/v4/remotecluster')
@RequirePermission(Permission.ManageSecureConnections)
export class RemoteClusterController {
  constructor(
    private readonly remoteClusters: RemoteClusterService,
    private readonly tokens: RemoteClusterTokens,
  ) {}

  @Get()
  @ApiOkResponse({ description: 'Secure connections, tokens blank' })
  list(@Query() query: ListRemoteClustersQuery): Promise<RemoteClusterJson[]> {
    return this.remoteClusters.list(query);
  }

  @Post()
  @ApiCreatedResponse({ description: '{remote_cluster, invite, password?}: password only when generated' })
  create(@CurrentAuth() auth: AuthContext, @Body() body: CreateRemoteClusterDto): Promise<RemoteClusterWithInvite> {
    return this.remoteClusters.create(auth, body);
  }

  @Post('accept_invite')
  @ApiCreatedResponse({ description: 'The new, confirmed connection' })
  acceptInvite(@CurrentAuth() auth: AuthContext, @Body() body: AcceptRemoteClusterInviteDto, @Ip() ip: string): Promise<RemoteClusterJson> {
    return this.remoteClusters.acceptInvite(auth, body, ip || 'unknown');
  }

  @Post(':remote_id/generate_invite')
  @ApiCreatedResponse({ description: 'The invite code, as a JSON string' })
  async generateInvite(
    @Param('remote_id', IdParamPipe) remoteId: string,
    @Body() body: GenerateInviteDto,
    @Res() res: Response,
  ): Promise<void> {
    // A bare JSON string: Nest would send a returned string as text.
    res.status(201).json(await this.remoteClusters.generateInvite(remoteId, body.password));
  }

  /**
   * Not in Mattermost: new tokens both ways, through a handshake with the peer (topic mmfed_rotate_token). The old
   * tokens keep working until each side has used the new one, then for REMOTE_TOKEN_OVERLAP_MS.
   */
  @Post(':remote_id/rotate_token')
  @HttpCode(200)
  @ApiOkResponse({ description: '{"status":"OK"} once both sides hold new tokens' })
  async rotateToken(@Param('remote_id', IdParamPipe) remoteId: string): Promise<{ status: 'OK' }> {
    await this.tokens.rotate(remoteId);
    return { status: 'OK' };
  }

  @Get(':remote_id')
  get(@Param('remote_id', IdParamPipe) remoteId: string): Promise<RemoteClusterJson> {
    return this.remoteClusters.get(remoteId);
  }

  @Patch(':remote_id')
  patch(@Param('remote_id', IdParamPipe) remoteId: string, @Body() body: PatchRemoteClusterDto): Promise<RemoteClusterJson> {
    return this.remoteClusters.patch(remoteId, body);
  }

  /**
   * Deletes the connection and, in the same transaction, unshares every channel shared only with it (the peer is
   * told, now or with retries) and drops it from channels shared with others too; `?deactivate_users=true` also
   * deactivates the synthetic users that came only from it.
   */
  @Delete(':remote_id')
  @ApiOkResponse({ description: '{"status":"OK"}' })
  async delete(@Param('remote_id', IdParamPipe) remoteId: string, @Query() query: DeleteRemoteClusterQuery): Promise<{ status: 'OK' }> {
    await this.remoteClusters.delete(remoteId, { deactivateUsers: query.deactivate_users });
    return { status: 'OK' };
  }
}
