import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional } from 'class-validator';
import { PageQuery } from '../../../common/pagination.js';

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
