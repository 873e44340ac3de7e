import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { JsonBodyLimit, PEER_JSON_LIMIT_BYTES } from '../../common/json-body.js';
import type { RemoteCaller } from '../auth/auth-context.js';
import { CurrentRemote, RemoteClusterAuth } from '../auth/auth.decorators.js';
import { parseFrame, type RemoteClusterPing, type RemoteClusterResponse } from './dto/frame.dto.js';
import { RemoteClusterService } from './remote-cluster.service.js';
import { TracedInbound } from './trace/inbound-trace.interceptor.js';

const FRAME_SCHEMA = {
  schema: {
    type: 'object',
    required: ['remote_id', 'msg'],
    properties: {
      remote_id: { type: 'string' },
      msg: {
        type: 'object',
        properties: { id: { type: 'string' }, topic: { type: 'string' }, create_at: { type: 'integer' }, payload: {} },
      },
    },
  },
};

/**
 * The server-to-server endpoints a peer calls (section 3.1). The guard has authenticated the caller's
 * X-RemoteCluster-Id/-Token (a confirmed connection's; the invite's token only on /confirm_invite); the frame
 * must then name the same remote.
 */
@ApiTags('remote cluster protocol')
@Controller('api/v4/remotecluster')
@RemoteClusterAuth()
export class RemoteClusterInboundController {
  constructor(private readonly remoteClusters: RemoteClusterService) {}

  @Post('ping')
  @HttpCode(200)
  @TracedInbound('ping')
  @ApiBody(FRAME_SCHEMA)
  @ApiOkResponse({ description: 'The bare ping: {sent_at, recv_at}' })
  ping(@CurrentRemote() caller: RemoteCaller, @Body() body: unknown): Promise<RemoteClusterPing> {
    return this.remoteClusters.receivePing(caller.remoteId, parseFrame(body));
  }

  @Post('msg')
  @HttpCode(200)
  // A sync message of many posts; read only once the guard has admitted the peer.
  @JsonBodyLimit(PEER_JSON_LIMIT_BYTES)
  @TracedInbound()
  @ApiBody(FRAME_SCHEMA)
  @ApiOkResponse({ description: 'Response envelope {status, err, payload}; 200 even when the handler failed' })
  msg(@CurrentRemote() caller: RemoteCaller, @Body() body: unknown): Promise<RemoteClusterResponse> {
    return this.remoteClusters.receiveMsg(caller.remoteId, parseFrame(body));
  }

  @Post('confirm_invite')
  @RemoteClusterAuth('invitation')
  @HttpCode(200)
  @TracedInbound('confirm_invite')
  @ApiBody(FRAME_SCHEMA)
  @ApiOkResponse({ description: '{"status":"OK"}' })
  async confirmInvite(@CurrentRemote() caller: RemoteCaller, @Body() body: unknown): Promise<{ status: 'OK' }> {
    await this.remoteClusters.receiveInviteConfirmation(caller.remoteId, parseFrame(body));
    return { status: 'OK' };
  }
}
