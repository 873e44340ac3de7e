import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { IdParamPipe } from '../../../common/id-param.pipe.js';
import { RequirePermission } from '../../auth/auth.decorators.js';
import { Permission } from '../../auth/permissions.js';
import { EnvelopeTraceQuery } from './delivery-trace.dto.js';
import { DeliveryTrace, type PostTraceJson } from './delivery-trace.service.js';

/**
 * The delivery trace, for system admins (not in Mattermost): what went to and came from each remote, and what
 * became of a post with each remote. Ids, counts, times and reasons only; see DeliveryTrace.
 */
@ApiTags('delivery trace')
@Controller('api/v4')
@RequirePermission(Permission.ManageSystem)
export class DeliveryTraceController {
  constructor(private readonly trace: DeliveryTrace) {}

  @Get('remotecluster/:remote_id/trace')
  @ApiOperation({ summary: 'Recent envelopes exchanged with a remote, newest first, with filters' })
  @ApiOkResponse({ description: '[{id, at, direction, remote_id, topic, msg_id, channel_id, items, bytes, result, status, reason, duration_ms}]' })
  envelopes(@Param('remote_id', IdParamPipe) remoteId: string, @Query() q: EnvelopeTraceQuery) {
    const { page, per_page: perPage, ...filter } = q;
    return this.trace.listEnvelopes(remoteId, filter, page, perPage);
  }

  @Get('sharedchannels/trace/posts/:post_id')
  @ApiOperation({ summary: 'Per remote, when a post (each version), its reactions and acknowledgements were sent, accepted, rejected and why, retried or parked' })
  @ApiOkResponse({ description: '{post_id, remotes: [{remote_id, events: [...]}]}' })
  post(@Param('post_id', IdParamPipe) postId: string): Promise<PostTraceJson> {
    return this.trace.postTrace(postId);
  }
}
