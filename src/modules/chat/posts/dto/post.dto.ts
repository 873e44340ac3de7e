import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsInt, IsObject, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

const ID = /^[a-z0-9]{26}$/;
const ID_MSG = (f: string) => ({ message: `${f} must be a 26-character id` });

export class CreatePostDto {
  @ApiProperty() @IsString() @Matches(ID, ID_MSG('channel_id')) channel_id: string;
  /** Length is checked in runes by the service (Mattermost counts runes, not UTF-16 units). */
  @ApiProperty() @IsString() @MaxLength(16383 * 2) message: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(/^([a-z0-9]{26})?$/, ID_MSG('root_id')) root_id?: string;
  @ApiPropertyOptional({ type: [String] })
  @IsOptional() @IsArray() @ArrayMaxSize(10) @Matches(ID, { each: true, message: 'file_ids must be 26-character ids' })
  file_ids?: string[];
  @ApiPropertyOptional() @IsOptional() @IsObject() props?: Record<string, unknown>;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) pending_post_id?: string;
}

export class PatchPostDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(16383 * 2) message?: string;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() is_pinned?: boolean;
  @ApiPropertyOptional() @IsOptional() @IsObject() props?: Record<string, unknown>;
  @ApiPropertyOptional({ type: [String] })
  @IsOptional() @IsArray() @ArrayMaxSize(10) @Matches(ID, { each: true, message: 'file_ids must be 26-character ids' })
  file_ids?: string[];
}

export class UpdatePostDto extends PatchPostDto {
  @ApiProperty() @IsString() @Matches(ID, ID_MSG('id')) id: string;
  @ApiProperty() @IsString() @MaxLength(16383 * 2) message: string;
}

export class PostListQuery {
  @ApiPropertyOptional() @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(100000) page = 0;
  @ApiPropertyOptional() @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200) per_page = 60;
  @ApiPropertyOptional() @IsOptional() @Type(() => Number) @IsInt() @Min(0) since?: number;
  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(ID, ID_MSG('before')) before?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(ID, ID_MSG('after')) after?: string;
}

export class CreateReactionDto {
  @ApiProperty() @IsString() @Matches(ID, ID_MSG('user_id')) user_id: string;
  @ApiProperty() @IsString() @Matches(ID, ID_MSG('post_id')) post_id: string;
  @ApiProperty() @IsString() @Matches(/^[a-zA-Z0-9_+-]{1,64}$/, { message: 'emoji_name must be 1-64 of letters, digits, "_", "+" or "-"' })
  emoji_name: string;
}
