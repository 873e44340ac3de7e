import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, Matches } from 'class-validator';
import { PageQuery } from '../../../common/pagination.js';
import { HISTORY_PATTERN } from '../history.js';

/** Go's strconv.ParseBool, which Mattermost uses for boolean query parameters. */
const toBool = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  return value;
};

/** Query of the invite routes. Not in Mattermost's REST API (its /share-channel command has the option). */
export class InviteRemoteQuery {
  @ApiPropertyOptional({
    description:
      'when this invite shares the channel: share it read-only (members of the invited workspaces cannot post or react). ' +
      'Ignored when absent; refused when the channel is already shared the other way.',
  })
  @IsOptional() @Transform(toBool) @IsBoolean()
  readonly?: boolean;

  @ApiPropertyOptional({
    description:
      'not in Mattermost: the channel\'s history the remote gets once it accepted: none (Mattermost\'s behaviour, the default), ' +
      'all, or the number of days back (1-36500). Sent in the background, oldest first; progress in the shared-channel remote APIs.',
    example: 'all',
  })
  @IsOptional() @Matches(HISTORY_PATTERN, { message: 'history must be none, all or a number of days (1-36500)' })
  history?: string;
}

/** Query of GET /api/v4/remotecluster/{remote_id}/sharedchannelremotes (Mattermost's SharedChannelRemoteFilterOpts). */
export class SharedChannelRemotesQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'also invites not yet confirmed by the remote' })
  @IsOptional() @Transform(toBool) @IsBoolean() include_unconfirmed?: boolean;

  @ApiPropertyOptional({ description: 'only invites not yet confirmed' })
  @IsOptional() @Transform(toBool) @IsBoolean() exclude_confirmed?: boolean;

  @ApiPropertyOptional({ description: 'leave out channels homed on this server' })
  @IsOptional() @Transform(toBool) @IsBoolean() exclude_home?: boolean;

  @ApiPropertyOptional({ description: 'leave out channels homed on other servers' })
  @IsOptional() @Transform(toBool) @IsBoolean() exclude_remote?: boolean;

  @ApiPropertyOptional({ description: 'also uninvited remotes' })
  @IsOptional() @Transform(toBool) @IsBoolean() include_deleted?: boolean;
}

export class RemoteInfoQuery {
  @ApiPropertyOptional({ description: 'also a deleted connection' })
  @IsOptional() @Transform(toBool) @IsBoolean() include_deleted?: boolean;
}
