import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';

/** Mattermost team names: 2-64 of lowercase letters, digits and '-', starting with a letter or digit. */
export const TEAM_NAME_RE = /^[a-z0-9][a-z0-9-]{1,63}$/;

export class CreateTeamDto {
  @ApiProperty({ example: 'eng' })
  @IsString() @Matches(TEAM_NAME_RE, { message: 'name must be 2-64 lowercase letters, digits or "-"' })
  name: string;

  @ApiProperty({ example: 'Engineering' })
  @IsString() @MinLength(1) @MaxLength(64)
  display_name: string;

  @ApiProperty({ enum: ['O', 'I'] })
  @IsIn(['O', 'I'])
  type: 'O' | 'I';

  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(255) description?: string;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() allow_open_invite?: boolean;
}

export class AddTeamMemberDto {
  @ApiProperty() @IsString() @Matches(/^[a-z0-9]{26}$/, { message: 'team_id must be a 26-character id' }) team_id: string;
  @ApiProperty() @IsString() @Matches(/^[a-z0-9]{26}$/, { message: 'user_id must be a 26-character id' }) user_id: string;
}
