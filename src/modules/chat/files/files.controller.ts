import { pipeline } from 'node:stream';
import { Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { IdParamPipe } from '../../../common/id-param.pipe.js';
import { StreamedBody } from '../../../common/json-body.js';
import type { AuthContext } from '../../auth/auth-context.js';
import { Authenticated, CurrentAuth } from '../../auth/auth.decorators.js';
import { toFileInfoJson } from './file-info.mapper.js';
import { FilesService, type UploadResult } from './files.service.js';

@ApiTags('files')
@Controller('api/v4/files')
export class FilesController {
  constructor(private readonly files: FilesService) {}

  @Post()
  @Authenticated()
  @StreamedBody()
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['channel_id', 'files'],
      properties: { channel_id: { type: 'string' }, files: { type: 'string', format: 'binary' }, client_ids: { type: 'string' } },
    },
  })
  upload(@CurrentAuth() auth: AuthContext, @Req() req: Request, @Query('channel_id') channelId?: string): Promise<UploadResult> {
    return this.files.upload(auth, req, channelId);
  }

  @Get(':file_id')
  @Authenticated()
  async download(@CurrentAuth() auth: AuthContext, @Param('file_id', IdParamPipe) fileId: string, @Res() res: Response): Promise<void> {
    const info = await this.files.readableInfo(auth, fileId);
    const stream = await this.files.openContent(info);
    res.setHeader('Content-Type', info.mime_type || 'application/octet-stream');
    res.setHeader('Content-Length', String(info.size));
    res.setHeader('Content-Disposition', `attachment; filename*=UTF-8''${encodeURIComponent(info.name)}`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // A client that goes away closes the file too; a read error cuts the response (its length was promised).
    pipeline(stream, res, () => undefined);
  }

  @Get(':file_id/info')
  @Authenticated()
  async info(@CurrentAuth() auth: AuthContext, @Param('file_id', IdParamPipe) fileId: string) {
    return toFileInfoJson(await this.files.readableInfo(auth, fileId));
  }
}
