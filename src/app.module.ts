import { type DynamicModule, Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ScheduleModule } from '@nestjs/schedule';
import type { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { HealthModule } from './health/health.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { AuthModule } from './modules/auth/auth.module.js';
import { ChatModule } from './modules/chat/chat.module.js';
import { MembershipModule } from './modules/membership/membership.module.js';
import { SyncModule } from './modules/sync/sync.module.js';
import { SharedChannelModule } from './modules/shared-channel/shared-channel.module.js';
import { RemoteClusterModule } from './modules/remote-cluster/remote-cluster.module.js';
import { UploadsModule } from './modules/uploads/uploads.module.js';
import { WebSocketModule } from './modules/websocket/websocket.module.js';
import { QueueModule } from './queue/queue.module.js';
import { RateLimitModule } from './rate-limit/rate-limit.module.js';
import { RedisModule } from './redis/redis.module.js';

@Module({})
export class AppModule {
  /** The whole server for one configuration; nothing here reads the environment. */
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule,
        RedisModule,
        RateLimitModule,
        QueueModule,
        // In-process domain events (chat changes, shares, connection state): one emitter per app instance.
        EventEmitterModule.forRoot({ wildcard: false, maxListeners: 50 }),
        ScheduleModule.forRoot(),
        MetricsModule,
        HealthModule,
        AuthModule,
        ChatModule,
        RemoteClusterModule,
        SharedChannelModule,
        MembershipModule,
        UploadsModule,
        SyncModule,
        WebSocketModule,
      ],
    };
  }
}
