import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Min } from 'class-validator';
import { PageQuery } from '../../../common/pagination.js';

/** Filters of GET /api/v4/remotecluster/{remote_id}/trace. */
export class EnvelopeTraceQuery extends PageQuery {
  @ApiPropertyOptional({ enum: ['in', 'out'] }) @IsOptional() @IsIn(['in', 'out'])
  direction?: 'in' | 'out';

  @ApiPropertyOptional({ description: 'a /msg topic (sharedchannel_sync...), or ping, confirm_invite, upload, profile_image' })
  @IsOptional() @IsString() @Matches(/^[\w.:-]{1,64}$/)
  topic?: string;

  @ApiPropertyOptional({ enum: ['ok', 'fail', 'error'] }) @IsOptional() @IsIn(['ok', 'fail', 'error'])
  result?: 'ok' | 'fail' | 'error';

  @ApiPropertyOptional({ description: 'only sync messages about this channel' }) @IsOptional() @Matches(/^[a-z0-9]{26}$/)
  channel_id?: string;

  @ApiPropertyOptional({ description: 'one envelope, by its message id' }) @IsOptional() @Matches(/^[a-z0-9]{26}$/)
  msg_id?: string;

  @ApiPropertyOptional({ description: 'from this time on (ms since the epoch)' }) @IsOptional() @Type(() => Number) @IsInt() @Min(0)
  since?: number;

  @ApiPropertyOptional({ description: 'up to this time (ms since the epoch)' }) @IsOptional() @Type(() => Number) @IsInt() @Min(0)
  until?: number;
}
