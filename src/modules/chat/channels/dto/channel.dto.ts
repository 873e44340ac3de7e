import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';

const ID = /^[a-z0-9]{26}$/;
/** Mattermost channel names: lowercase letters, digits, '-' and '_', 1-64 characters. */
export const CHANNEL_NAME_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export class CreateChannelDto {
  @ApiProperty() @IsString() @Matches(ID, { message: 'team_id must be a 26-character id' }) team_id: string;
  @ApiProperty() @IsString() @Matches(CHANNEL_NAME_RE, { message: 'name must be 1-64 lowercase letters, digits, "-" or "_"' }) name: string;
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(64) display_name: string;
  @ApiProperty({ enum: ['O', 'P'] }) @IsIn(['O', 'P'], { message: 'type must be O or P' }) type: 'O' | 'P';
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(250) purpose?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(1024) header?: string;
}

export class PatchChannelDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MinLength(1) @MaxLength(64) display_name?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(1024) header?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(250) purpose?: string;
}

export class AddChannelMemberDto {
  @ApiProperty() @IsString() @Matches(ID, { message: 'user_id must be a 26-character id' }) user_id: string;
}

/** POST /channels/direct and /channels/group take a bare JSON array of user ids. */
export function parseUserIdArray(body: unknown, min: number, max: number): string[] | string {
  if (!Array.isArray(body)) return 'body must be a JSON array of user ids';
  if (body.length < min || body.length > max) return `expected ${min}-${max} user ids`;
  for (const id of body) if (typeof id !== 'string' || !ID.test(id)) return 'every element must be a 26-character id';
  return body as string[];
}

export class UserIdsDto {
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(200) @IsString({ each: true }) ids: string[];
}
