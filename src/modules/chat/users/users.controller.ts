import { pipeline } from 'node:stream';
import { Body, Controller, Get, Param, Post, Put, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AppError } from '../../../common/app-error.js';
import { isValidId } from '../../../common/ids.js';
import { UserIdParamPipe } from '../../../common/id-param.pipe.js';
import { StreamedBody } from '../../../common/json-body.js';
import type { AuthContext } from '../../auth/auth-context.js';
import { Authenticated, CurrentAuth } from '../../auth/auth.decorators.js';
import { toUserJson } from '../../auth/user.mapper.js';
import { ChatErrors } from '../chat.errors.js';
import { PatchUserDto, UpdateStatusDto } from './users.dto.js';
import { toStatusJson, UsersProfileService } from './users-profile.service.js';

const STRING_ARRAY = { schema: { type: 'array', items: { type: 'string' } } };

function stringArray(body: unknown, name: string, max: number, check: (s: string) => boolean): string[] {
  if (!Array.isArray(body) || body.length > max || !body.every((v) => typeof v === 'string' && check(v))) {
    throw AppError.invalidBodyParam(name, `expected a JSON array of at most ${max} ${name}`);
  }
  return body as string[];
}

@ApiTags('users')
@Controller('api/v4/users')
export class UsersProfileController {
  constructor(private readonly profiles: UsersProfileService) {}

  @Post('ids')
  @Authenticated()
  @ApiBody(STRING_ARRAY)
  async byIds(@CurrentAuth() auth: AuthContext, @Body() body: unknown) {
    const ids = stringArray(body, 'user_ids', 1000, isValidId);
    return (await this.profiles.byIds(ids)).map((u) => toUserJson(u, { self: u.id === auth.userId }));
  }

  @Post('usernames')
  @Authenticated()
  @ApiBody(STRING_ARRAY)
  async byUsernames(@CurrentAuth() auth: AuthContext, @Body() body: unknown) {
    const names = stringArray(body, 'usernames', 1000, (s) => s.length > 0 && s.length <= 64);
    return (await this.profiles.byUsernames(names)).map((u) => toUserJson(u, { self: u.id === auth.userId }));
  }

  @Post('status/ids')
  @Authenticated()
  @ApiBody(STRING_ARRAY)
  async statusesByIds(@Body() body: unknown) {
    const ids = stringArray(body, 'user_ids', 1000, isValidId);
    return (await this.profiles.statusesOf(ids)).map(toStatusJson);
  }

  @Get(':user_id')
  @Authenticated()
  async get(@CurrentAuth() auth: AuthContext, @Param('user_id', UserIdParamPipe) userId: string) {
    const id = userId === 'me' ? auth.userId : userId;
    return toUserJson((await this.profiles.get(id)), { self: id === auth.userId });
  }

  @Put(':user_id/patch')
  @Authenticated()
  async patch(@CurrentAuth() auth: AuthContext, @Param('user_id', UserIdParamPipe) userId: string, @Body() body: PatchUserDto) {
    const id = userId === 'me' ? auth.userId : userId;
    return toUserJson((await this.profiles.patch(auth, id, body)), { self: id === auth.userId });
  }

  @Get(':user_id/image')
  @Authenticated()
  async image(@Param('user_id', UserIdParamPipe) userId: string, @CurrentAuth() auth: AuthContext, @Res() res: Response): Promise<void> {
    const img = await this.profiles.image(userId === 'me' ? auth.userId : userId);
    res.setHeader('Content-Type', img.type);
    res.setHeader('Cache-Control', 'private, max-age=0, must-revalidate');
    res.setHeader('ETag', img.etag);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    pipeline(img.body, res, () => undefined);
  }

  @Post(':user_id/image')
  @Authenticated()
  @StreamedBody()
  @ApiConsumes('multipart/form-data')
  @ApiBody({ schema: { type: 'object', properties: { image: { type: 'string', format: 'binary' } } } })
  async setImage(@CurrentAuth() auth: AuthContext, @Param('user_id', UserIdParamPipe) userId: string, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await this.profiles.setImage(auth, userId === 'me' ? auth.userId : userId, req);
    res.status(200);
    return { status: 'OK' };
  }

  @Get(':user_id/status')
  @Authenticated()
  async status(@CurrentAuth() auth: AuthContext, @Param('user_id', UserIdParamPipe) userId: string) {
    return toStatusJson(await this.profiles.status(userId === 'me' ? auth.userId : userId));
  }

  @Put(':user_id/status')
  @Authenticated()
  async setStatus(@CurrentAuth() auth: AuthContext, @Param('user_id', UserIdParamPipe) userId: string, @Body() body: UpdateStatusDto) {
    const id = userId === 'me' ? auth.userId : userId;
    if (body.user_id !== id) throw ChatErrors.userIdMismatch();
    return toStatusJson(await this.profiles.setStatus(auth, id, body.status, body.dnd_end_time ?? 0));
  }
}
