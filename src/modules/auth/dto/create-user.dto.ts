import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';

/** Mattermost's username rule: 3-22 characters of [a-z0-9.-_], starting with a letter. */
export const USERNAME_RE = /^[a-z][a-z0-9.\-_]{2,21}$/;

export class CreateUserDto {
  @ApiProperty({ example: 'alice' })
  @IsString() @Matches(USERNAME_RE, { message: 'username must be 3-22 lowercase letters, digits, ".", "-" or "_", starting with a letter' })
  username: string;

  @ApiProperty({ example: 'alice@example.com' })
  @IsEmail() @MaxLength(128)
  email: string;

  @ApiProperty({ minLength: 8 })
  @IsString() @MinLength(8) @MaxLength(72)
  password: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) nickname?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) first_name?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) last_name?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(128) position?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(5) locale?: string;
}
