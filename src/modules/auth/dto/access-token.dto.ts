import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength, MinLength } from 'class-validator';

export class CreateAccessTokenDto {
  @ApiProperty()
  @IsString() @MinLength(1) @MaxLength(512)
  description: string;
}

export class RevokeAccessTokenDto {
  @ApiProperty()
  @IsString() @Matches(/^[a-z0-9]{26}$/, { message: 'token_id must be a 26-character id' })
  token_id: string;
}
