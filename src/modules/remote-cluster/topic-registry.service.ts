import { Injectable, Logger } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { MetricsService } from '../../metrics/metrics.service.js';
import {
  type RemoteClusterMsg,
  type RemoteClusterResponse,
  RESPONSE_STATUS_FAIL,
  RESPONSE_STATUS_OK,
  TOPIC_INVITATION,
  TOPIC_PING,
} from './dto/frame.dto.js';
import type { RemoteClusterJson } from './remote-cluster.mapper.js';

/**
 * Handles one topic arriving on /msg. `remote` is the sender's record with its tokens blanked. The return value
 * becomes the Response payload (undefined means null); a thrown error's message becomes `err` with status FAIL.
 */
export type TopicHandler<P = unknown, R = unknown> = (remote: RemoteClusterJson, msg: RemoteClusterMsg<P>) => R | Promise<R>;

/**
 * The /msg dispatch table. Modules register their topics in onModuleInit, so a topic claimed twice stops the
 * server at boot rather than silently routing a peer's messages to the wrong handler.
 */
@Injectable()
export class TopicRegistry {
  private readonly logger = new Logger(TopicRegistry.name);
  private readonly handlers = new Map<string, TopicHandler>();
  private readonly unknownTopics: Counter<'remote_id'>;

  constructor(metrics: MetricsService) {
    this.unknownTopics = metrics.counter(
      'remote_cluster_msg_unknown_topic_total',
      'Messages from remote clusters for a topic no module handles (answered OK, as Mattermost does)',
      ['remote_id'],
    );
  }

  register<P, R>(topic: string, handler: TopicHandler<P, R>): void {
    if (!topic || topic === TOPIC_PING || topic === TOPIC_INVITATION) {
      throw new Error(`remote cluster topic "${topic}" cannot be registered: it has its own endpoint`);
    }
    if (this.handlers.has(topic)) throw new Error(`remote cluster topic "${topic}" is already registered`);
    this.handlers.set(topic, handler as TopicHandler);
  }

  topics(): string[] {
    return [...this.handlers.keys()].sort();
  }

  /** Mattermost's ReceiveIncomingMsg: always a Response, never a throw. */
  async dispatch(remote: RemoteClusterJson, msg: RemoteClusterMsg): Promise<RemoteClusterResponse> {
    const handler = this.handlers.get(msg.topic);
    if (!handler) {
      // Mattermost answers OK so peers cannot tell unsupported features apart; we at least count them.
      this.unknownTopics.inc({ remote_id: remote.remote_id });
      this.logger.warn({ remote_id: remote.remote_id, topic: msg.topic, msg_id: msg.id }, 'message for an unknown topic');
      return { status: RESPONSE_STATUS_OK, err: '', payload: null };
    }
    try {
      const payload = await handler(remote, msg);
      return { status: RESPONSE_STATUS_OK, err: '', payload: payload === undefined ? null : payload };
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      this.logger.warn({ err, remote_id: remote.remote_id, topic: msg.topic, msg_id: msg.id }, 'topic handler failed');
      return { status: RESPONSE_STATUS_FAIL, err: text, payload: null };
    }
  }
}
