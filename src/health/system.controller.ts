import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';

@ApiTags('system')
@Controller('api/v4/system')
export class SystemController {
  /** Mattermost's own health route; clients call it before anything else. */
  @Get('ping')
  @ApiOkResponse({ schema: { example: { status: 'OK' } } })
  ping(): { status: 'OK' } {
    return { status: 'OK' };
  }
}
