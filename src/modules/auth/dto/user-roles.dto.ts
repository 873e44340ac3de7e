import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';

/** Body of PUT /api/v4/users/{user_id}/roles (Client4.updateUserRoles). */
export class UpdateUserRolesDto {
  @ApiProperty({ example: 'system_user system_shared_channel_manager', description: 'Space-separated system roles' })
  @IsString() @MaxLength(256)
  roles: string;
}
