import { Body, Controller, Get, HttpCode, Param, Post, Put, Req, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { UserIdParamPipe } from '../../common/id-param.pipe.js';
import type { AuthContext } from './auth-context.js';
import { Authenticated, CurrentAuth, RequirePermission } from './auth.decorators.js';
import { AuthService, type NewAccessToken } from './auth.service.js';
import { CreateAccessTokenDto, RevokeAccessTokenDto } from './dto/access-token.dto.js';
import { CreateUserDto } from './dto/create-user.dto.js';
import { LoginDto } from './dto/login.dto.js';
import { UpdateUserRolesDto } from './dto/user-roles.dto.js';
import { Permission } from './permissions.js';
import { SESSION_COOKIE, sessionCookieOptions } from './request-token.js';
import { toUserJson, type UserJson } from './user.mapper.js';

@ApiTags('users')
@Controller('api/v4/users')
export class UsersController {
  constructor(private readonly auth: AuthService) {}

  @Post('login')
  @HttpCode(200)
  @ApiOkResponse({ description: 'The user; the session token is in the `Token` response header' })
  async login(@Body() body: LoginDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<UserJson> {
    const { user, token } = await this.auth.login(body.login_id, body.password, body.device_id, req.ip || 'unknown');
    res.setHeader('Token', token);
    res.cookie(SESSION_COOKIE, token, sessionCookieOptions(req, '/'));
    return toUserJson(user, { self: true });
  }

  @Post('logout')
  @HttpCode(200)
  @Authenticated()
  async logout(@CurrentAuth() auth: AuthContext, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<{ status: 'OK' }> {
    if (!auth.isAccessToken) await this.auth.logout(auth.sessionId);
    res.clearCookie(SESSION_COOKIE, sessionCookieOptions(req, '/'));
    return { status: 'OK' };
  }

  @Get('me')
  @Authenticated()
  async me(@CurrentAuth() auth: AuthContext): Promise<UserJson> {
    return toUserJson(await this.auth.getUser(auth.userId), { self: true });
  }

  @Post()
  @RequirePermission(Permission.CreateUser)
  @ApiCreatedResponse({ description: 'The new user' })
  async create(@Body() body: CreateUserDto): Promise<UserJson> {
    return toUserJson(await this.auth.createUser(body));
  }

  @Put(':user_id/roles')
  @RequirePermission(Permission.ManageRoles)
  @ApiOkResponse({ description: '{"status":"OK"}; e.g. {"roles":"system_user system_shared_channel_manager"} grants manage_shared_channels' })
  async updateRoles(
    @CurrentAuth() auth: AuthContext,
    @Param('user_id', UserIdParamPipe) userId: string,
    @Body() body: UpdateUserRolesDto,
  ): Promise<{ status: 'OK' }> {
    await this.auth.updateUserRoles(userId === 'me' ? auth.userId : userId, body.roles);
    return { status: 'OK' };
  }

  @Post(':user_id/tokens')
  @HttpCode(200)
  @Authenticated()
  @ApiOkResponse({ description: 'The token; its value is shown only in this response' })
  createToken(
    @CurrentAuth() auth: AuthContext,
    @Param('user_id', UserIdParamPipe) userId: string,
    @Body() body: CreateAccessTokenDto,
  ): Promise<NewAccessToken> {
    return this.auth.createAccessToken(auth, userId === 'me' ? auth.userId : userId, body.description);
  }

  @Post('tokens/revoke')
  @HttpCode(200)
  @Authenticated()
  async revokeToken(@CurrentAuth() auth: AuthContext, @Body() body: RevokeAccessTokenDto): Promise<{ status: 'OK' }> {
    await this.auth.revokeAccessToken(auth, body.token_id);
    return { status: 'OK' };
  }
}
