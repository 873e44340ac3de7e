import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { QueueName } from '../../queue/queue.constants.js';
import { AuthBootstrapService } from './auth-bootstrap.service.js';
import { AuthService } from './auth.service.js';
import { MaintenanceProcessor } from './maintenance.processor.js';
import { PasswordHasher } from './password-hasher.js';
import { SessionAuthGuard } from './session-auth.guard.js';
import { SessionEntity } from './session.entity.js';
import { SessionRepository } from './session.repository.js';
import { UserAccessTokenEntity } from './user-access-token.entity.js';
import { UserEntity } from './user.entity.js';
import { UserRepository } from './user.repository.js';
import { UserDirectory } from './user-directory.service.js';
import { UsersController } from './users.controller.js';

@Module({
  imports: [
    TypeOrmModule.forFeature([UserEntity, SessionEntity, UserAccessTokenEntity]),
    BullModule.registerQueue({ name: QueueName.Maintenance }),
  ],
  controllers: [UsersController],
  providers: [
    AuthService,
    PasswordHasher,
    UserRepository,
    SessionRepository,
    SessionAuthGuard,
    MaintenanceProcessor,
    AuthBootstrapService,
    UserDirectory,
  ],
  exports: [AuthService, SessionAuthGuard, UserDirectory],
})
export class AuthModule {}
