import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { QueueName } from '../../queue/queue.constants.js';
import { REMOTE_CLUSTER_TOKEN_VERIFIER } from '../auth/remote-cluster-auth.guard.js';
import { AuthModule } from '../auth/auth.module.js';
import { ChatModule } from '../chat/chat.module.js';
import { ConnectionStateService } from './connection-state.service.js';
import { PeerAddressPolicy } from './peer-address-policy.js';
import { TokenSealer } from './token-sealer.js';
import { RemoteClusterHeartbeatProcessor } from './remote-cluster-heartbeat.processor.js';
import { RemoteClusterHeartbeatService } from './remote-cluster-heartbeat.service.js';
import { RemoteClusterInboundController } from './remote-cluster-inbound.controller.js';
import { RemoteClusterClient } from './remote-cluster.client.js';
import { RemoteClusterController } from './remote-cluster.controller.js';
import { RemoteClusterEntity } from './remote-cluster.entity.js';
import { RemoteClusterRepository } from './remote-cluster.repository.js';
import { RemoteClusterService } from './remote-cluster.service.js';
import { RemoteClusterTokens } from './remote-cluster-tokens.service.js';
import { TopicRegistry } from './topic-registry.service.js';
import { DeliveryTraceController } from './trace/delivery-trace.controller.js';
import { DeliveryTraceRepository } from './trace/delivery-trace.repository.js';
import { DeliveryTrace } from './trace/delivery-trace.service.js';
import { InboundTraceInterceptor } from './trace/inbound-trace.interceptor.js';
import { TraceEnvelopeEntity } from './trace/trace-envelope.entity.js';
import { TraceItemEntity } from './trace/trace-item.entity.js';

/**
 * Secure connections to other servers: records and invites, the handshake, the token guard's verifier, the
 * heartbeat and its queue, the peer transport and the /msg topic registry. Later modules register topics on
 * TopicRegistry, send through RemoteClusterService.sendMsg and listen to CONNECTION_STATE_EVENT.
 */
@Module({
  imports: [
    AuthModule,
    ChatModule,
    TypeOrmModule.forFeature([RemoteClusterEntity, TraceEnvelopeEntity, TraceItemEntity]),
    BullModule.registerQueue({ name: QueueName.RemoteCluster }),
  ],
  controllers: [RemoteClusterController, RemoteClusterInboundController, DeliveryTraceController],
  providers: [
    RemoteClusterRepository,
    RemoteClusterService,
    RemoteClusterClient,
    RemoteClusterHeartbeatService,
    RemoteClusterHeartbeatProcessor,
    ConnectionStateService,
    TopicRegistry,
    DeliveryTraceRepository,
    DeliveryTrace,
    InboundTraceInterceptor,
    { provide: TokenSealer, useFactory: (config: AppConfig) => new TokenSealer(config.remoteCluster.tokenKey), inject: [APP_CONFIG] },
    {
      provide: PeerAddressPolicy,
      useFactory: (config: AppConfig) => new PeerAddressPolicy(config.remoteCluster.allowedNetworks),
      inject: [APP_CONFIG],
    },
    RemoteClusterTokens,
    { provide: REMOTE_CLUSTER_TOKEN_VERIFIER, useExisting: RemoteClusterTokens },
  ],
  // The verifier too: modules with server-to-server routes of their own (uploads) put @RemoteClusterAuth() on them.
  // DeliveryTrace and its interceptor: the sync engine records per-item outcomes, the uploads routes their envelopes.
  exports: [RemoteClusterService, RemoteClusterClient, TopicRegistry, ConnectionStateService, REMOTE_CLUSTER_TOKEN_VERIFIER, DeliveryTrace, InboundTraceInterceptor],
})
export class RemoteClusterModule {}
