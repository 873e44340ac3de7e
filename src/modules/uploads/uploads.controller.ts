import { Controller, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { IdParamPipe } from '../../common/id-param.pipe.js';
import { StreamedBody } from '../../common/json-body.js';
import type { RemoteCaller } from '../auth/auth-context.js';
import { CurrentRemote, RemoteClusterAuth } from '../auth/auth.decorators.js';
import { TracedInbound } from '../remote-cluster/trace/inbound-trace.interceptor.js';
import { ProfileImagesService } from './profile-images.service.js';
import { UploadsService } from './uploads.service.js';

/** The server-to-server byte routes (protocol 3.1): attachment data and profile images, both streamed to storage. */
@ApiTags('remote cluster protocol')
@Controller('api/v4/remotecluster')
@RemoteClusterAuth()
export class UploadsController {
  constructor(
    private readonly uploads: UploadsService,
    private readonly images: ProfileImagesService,
  ) {}

  @Post('upload/:upload_id')
  @StreamedBody()
  @TracedInbound('upload')
  @ApiConsumes('application/octet-stream', 'multipart/form-data')
  @ApiBody({ schema: { type: 'string', format: 'binary' }, description: 'The file bytes from the session offset on' })
  @ApiOkResponse({ description: 'The file is complete: its FileInfo' })
  @ApiNoContentResponse({ description: 'Bytes stored; the file is not complete yet' })
  async upload(
    @CurrentRemote() caller: RemoteCaller,
    @Param('upload_id', IdParamPipe) uploadId: string,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const result = await this.uploads.receiveData(caller.remoteId, uploadId, req);
    if (!result.complete) {
      res.status(204);
      return undefined;
    }
    res.status(200);
    return result.info;
  }

  @Post(':user_id/image')
  @StreamedBody()
  @HttpCode(200)
  @TracedInbound('profile_image')
  @ApiConsumes('multipart/form-data')
  @ApiBody({ schema: { type: 'object', properties: { image: { type: 'string', format: 'binary' } } } })
  @ApiOkResponse({ description: '{"status":"OK"}' })
  async image(@CurrentRemote() caller: RemoteCaller, @Param('user_id', IdParamPipe) userId: string, @Req() req: Request): Promise<{ status: 'OK' }> {
    await this.images.receive(caller.remoteId, userId, req);
    return { status: 'OK' };
  }
}
