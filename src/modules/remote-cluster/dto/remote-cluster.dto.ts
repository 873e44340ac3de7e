import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsString, Matches, MaxLength, MinLength, ValidateIf } from 'class-validator';
import { PageQuery } from '../../../common/pagination.js';

/** Mattermost's remote name rule (model.IsValidRemoteName); stored lowercased. */
export const REMOTE_NAME_RE = /^[a-zA-Z0-9.\-_]{1,64}$/;
const ID_RE = /^[a-z0-9]{26}$/;
/** Real invite codes are ~300 characters; anything far longer is not one (invite-crypto caps at 16 KiB too). */
const MAX_INVITE_CHARS = 16 * 1024;
const MAX_PASSWORD_CHARS = 1024;
/**
 * Shortest invite password this server issues a code for. Mattermost requires only a non-empty one; the code is
 * an offline target (PBKDF2-SHA256, 600,000 iterations) for whoever intercepts it, so one character will not do.
 */
export const MIN_INVITE_PASSWORD_CHARS = 8;
const PASSWORD_TOO_SHORT = `password must be at least ${MIN_INVITE_PASSWORD_CHARS} characters`;

/** Go's strconv.ParseBool, which Mattermost uses for boolean query parameters. */
const toBool = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  return value;
};

/** Body of POST /api/v4/remotecluster (Mattermost's RemoteClusterWithPassword; other fields are ignored). */
export class CreateRemoteClusterDto {
  @ApiProperty({ example: 'acme-b', description: '1-64 of letters, digits, ".", "-", "_"; stored lowercased' })
  @IsString() @Matches(REMOTE_NAME_RE, { message: 'name must be 1-64 of letters, digits, ".", "-" or "_"' })
  name: string;

  @ApiPropertyOptional({ description: 'defaults to name' })
  @IsOptional() @IsString() @MaxLength(64)
  display_name?: string;

  @ApiProperty({ description: 'team where channels shared by this remote are created' })
  @IsString() @Matches(ID_RE, { message: 'default_team_id must be a 26-character id' })
  default_team_id: string;

  @ApiPropertyOptional({ description: `invite password (at least ${MIN_INVITE_PASSWORD_CHARS} characters); generated (16) and returned when empty` })
  @IsOptional() @IsString() @ValidateIf((_o, v) => v !== '') @MinLength(MIN_INVITE_PASSWORD_CHARS, { message: PASSWORD_TOO_SHORT }) @MaxLength(MAX_PASSWORD_CHARS)
  password?: string;
}

/** Body of POST /api/v4/remotecluster/accept_invite (Mattermost's RemoteClusterAcceptInvite). */
export class AcceptRemoteClusterInviteDto {
  @ApiProperty({ example: 'acme-a' })
  @IsString() @Matches(REMOTE_NAME_RE, { message: 'name must be 1-64 of letters, digits, ".", "-" or "_"' })
  name: string;

  @ApiPropertyOptional({ description: 'defaults to name' })
  @IsOptional() @IsString() @MaxLength(64)
  display_name?: string;

  @ApiProperty()
  @IsString() @Matches(ID_RE, { message: 'default_team_id must be a 26-character id' })
  default_team_id: string;

  @ApiProperty({ description: 'the invitation code from the inviting server' })
  @IsString() @MinLength(1) @MaxLength(MAX_INVITE_CHARS)
  invite: string;

  /** No minimum here: the inviting server chose it (a Mattermost inviter accepts any non-empty password). */
  @ApiProperty()
  @IsString() @MaxLength(MAX_PASSWORD_CHARS)
  password: string;
}

/** Body of POST /api/v4/remotecluster/{remote_id}/generate_invite. */
export class GenerateInviteDto {
  @ApiProperty({ description: `at least ${MIN_INVITE_PASSWORD_CHARS} characters` })
  @IsString() @MinLength(MIN_INVITE_PASSWORD_CHARS, { message: PASSWORD_TOO_SHORT }) @MaxLength(MAX_PASSWORD_CHARS)
  password: string;
}

/** Mattermost's RemoteClusterPatch: null or absent leaves a field unchanged. */
export class PatchRemoteClusterDto {
  @ApiPropertyOptional({ nullable: true })
  @IsOptional() @IsString() @MinLength(1) @MaxLength(64)
  display_name?: string | null;

  @ApiPropertyOptional({ nullable: true, description: 'a team id, or "" for none' })
  @IsOptional() @IsString() @ValidateIf((_o, v) => v !== '') @Matches(ID_RE, { message: 'default_team_id must be a 26-character id' })
  default_team_id?: string | null;
}

/** Query of GET /api/v4/remotecluster (Mattermost's RemoteClusterQueryFilter). */
export class ListRemoteClustersQuery extends PageQuery {
  @ApiPropertyOptional() @IsOptional() @Transform(toBool) @IsBoolean() exclude_offline?: boolean;
  @ApiPropertyOptional() @IsOptional() @Transform(toBool) @IsBoolean() only_confirmed?: boolean;
  @ApiPropertyOptional() @IsOptional() @Transform(toBool) @IsBoolean() only_plugins?: boolean;
  @ApiPropertyOptional() @IsOptional() @Transform(toBool) @IsBoolean() exclude_plugins?: boolean;
  @ApiPropertyOptional() @IsOptional() @Transform(toBool) @IsBoolean() include_deleted?: boolean;

  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(ID_RE, { message: 'creator_id must be a 26-character id' })
  creator_id?: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(190)
  plugin_id?: string;

  @ApiPropertyOptional({ description: 'only remotes subscribed to this topic' })
  @IsOptional() @IsString() @Matches(/^[A-Za-z0-9._-]{1,64}$/, { message: 'topic must be 1-64 of letters, digits, ".", "-" or "_"' })
  topic?: string;

  @ApiPropertyOptional({ description: 'only remotes the channel is shared with (invited, not uninvited)' })
  @IsOptional() @IsString() @Matches(ID_RE, { message: 'in_channel must be a 26-character id' })
  in_channel?: string;

  @ApiPropertyOptional({ description: 'remotes the channel is not shared with (never invited, or uninvited)' })
  @IsOptional() @IsString() @Matches(ID_RE, { message: 'not_in_channel must be a 26-character id' })
  not_in_channel?: string;
}

/** DELETE /api/v4/remotecluster/{remote_id}: not in Mattermost. */
export class DeleteRemoteClusterQuery {
  @ApiPropertyOptional({ description: 'Also deactivate the synthetic users that came only from this connection' })
  @IsOptional() @Transform(toBool) @IsBoolean() deactivate_users?: boolean;
}
