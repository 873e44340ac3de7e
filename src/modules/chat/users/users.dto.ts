import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsIn, IsInt, IsObject, IsOptional, IsString, Matches, MaxLength, Min } from 'class-validator';
import { USERNAME_RE } from '../../auth/dto/create-user.dto.js';

export class PatchUserDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(USERNAME_RE, { message: 'username must be 3-22 lowercase letters, digits, ".", "-" or "_", starting with a letter' }) username?: string;
  @ApiPropertyOptional() @IsOptional() @IsEmail() @MaxLength(128) email?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) nickname?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) first_name?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) last_name?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(128) position?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(5) locale?: string;
  @ApiPropertyOptional() @IsOptional() @IsObject() timezone?: Record<string, string>;
  @ApiPropertyOptional() @IsOptional() @IsObject() props?: Record<string, string>;
}

export class UpdateStatusDto {
  @ApiProperty() @IsString() @Matches(/^[a-z0-9]{26}$/, { message: 'user_id must be a 26-character id' }) user_id: string;
  @ApiProperty({ enum: ['online', 'away', 'dnd', 'offline'] })
  @IsIn(['online', 'away', 'dnd', 'offline'], { message: 'status must be online, away, dnd or offline' })
  status: 'online' | 'away' | 'dnd' | 'offline';
  /** Seconds since the epoch, as Mattermost has it. */
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) dnd_end_time?: number;
}
