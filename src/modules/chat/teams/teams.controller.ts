import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { IdParamPipe } from '../../../common/id-param.pipe.js';
import { PageQuery } from '../../../common/pagination.js';
import type { AuthContext } from '../../auth/auth-context.js';
import { Authenticated, CurrentAuth, RequirePermission } from '../../auth/auth.decorators.js';
import { Permission } from '../../auth/permissions.js';
import { ChatErrors } from '../chat.errors.js';
import { AddTeamMemberDto, CreateTeamDto } from './dto/team.dto.js';
import { toTeamJson, toTeamMemberJson } from './team.mapper.js';
import { TeamsService } from './teams.service.js';

@ApiTags('teams')
@Controller('api/v4')
export class TeamsController {
  constructor(private readonly teams: TeamsService) {}

  @Post('teams')
  @RequirePermission(Permission.CreateTeam)
  async create(@CurrentAuth() auth: AuthContext, @Body() body: CreateTeamDto) {
    return toTeamJson(await this.teams.create(auth, body));
  }

  @Get('teams/:team_id')
  @Authenticated()
  async get(@CurrentAuth() auth: AuthContext, @Param('team_id', IdParamPipe) teamId: string) {
    return toTeamJson(await this.teams.get(auth, teamId));
  }

  @Get('users/me/teams')
  @Authenticated()
  async mine(@CurrentAuth() auth: AuthContext) {
    return (await this.teams.myTeams(auth)).map(toTeamJson);
  }

  @Post('teams/:team_id/members')
  @HttpCode(201)
  @Authenticated()
  async addMember(@CurrentAuth() auth: AuthContext, @Param('team_id', IdParamPipe) teamId: string, @Body() body: AddTeamMemberDto) {
    if (body.team_id !== teamId) throw ChatErrors.teamNotFound();
    return toTeamMemberJson(await this.teams.addMember(auth, teamId, body.user_id));
  }

  @Delete('teams/:team_id/members/:user_id')
  @Authenticated()
  async removeMember(
    @CurrentAuth() auth: AuthContext,
    @Param('team_id', IdParamPipe) teamId: string,
    @Param('user_id', IdParamPipe) userId: string,
  ) {
    await this.teams.removeMember(auth, teamId, userId);
    return { status: 'OK' };
  }

  @Get('teams/:team_id/members')
  @Authenticated()
  async members(@CurrentAuth() auth: AuthContext, @Param('team_id', IdParamPipe) teamId: string, @Query() q: PageQuery) {
    return (await this.teams.listMembers(auth, teamId, q.page, q.per_page)).map(toTeamMemberJson);
  }
}
