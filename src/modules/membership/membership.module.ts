import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { ChatModule } from '../chat/chat.module.js';
import { MembershipService } from './membership.service.js';

/** Membership sync of shared channels: what to send from the change journal, and applying a remote's changes. */
@Module({
  imports: [AuthModule, ChatModule],
  providers: [MembershipService],
  exports: [MembershipService],
})
export class MembershipModule {}
