import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

export class LoginDto {
  @ApiProperty({ description: 'Username or email' })
  @IsString() @MinLength(1) @MaxLength(128)
  login_id: string;

  @ApiProperty()
  @IsString() @MinLength(1) @MaxLength(256)
  password: string;

  @ApiPropertyOptional()
  @IsOptional() @IsString() @MaxLength(512)
  device_id?: string;
}
