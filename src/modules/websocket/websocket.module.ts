import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { ChatModule } from '../chat/chat.module.js';
import { WebSocketBus } from './websocket-bus.service.js';
import { WebSocketEventsService } from './websocket-events.service.js';
import { WebSocketHub } from './websocket-hub.service.js';
import { WebSocketGateway } from './websocket.gateway.js';
import { WebSocketMetrics } from './websocket.metrics.js';

/**
 * Real-time events: Mattermost's WebSocket API at /api/v4/websocket. It listens to the other modules' events
 * (chat changes and notices, shared-channel and connection-state events; it imports their event names, never their
 * services beyond chat's) and nothing calls it. Its Redis stream carries every event to every replica.
 */
@Module({
  imports: [AuthModule, ChatModule],
  providers: [WebSocketMetrics, WebSocketBus, WebSocketHub, WebSocketEventsService, WebSocketGateway],
})
export class WebSocketModule {}
