import { Injectable, Logger } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { MetricsService } from '../../metrics/metrics.service.js';

/** A remote went offline->online or online->offline, as seen by our own pings. */
export interface ConnectionStateChange {
  remote_id: string;
  online: boolean;
  /** When the change was observed (ms). */
  at: number;
}

export type ConnectionStateListener = (change: ConnectionStateChange) => void | Promise<void>;

/**
 * In-process connection-state events. Each change is emitted once in the whole cluster of replicas: only the
 * replica whose database update flipped the remote's state calls emit(). Shared channels subscribe to re-send
 * pending invites and resume syncing when a remote comes back. A listener that throws is logged and never
 * affects other listeners or the heartbeat.
 */
@Injectable()
export class ConnectionStateService {
  private readonly logger = new Logger(ConnectionStateService.name);
  private readonly listeners = new Set<ConnectionStateListener>();
  private readonly changes: Counter<'remote_id' | 'online'>;

  constructor(metrics: MetricsService) {
    this.changes = metrics.counter('remote_cluster_conn_state_change_total', 'Connection state changes of remote clusters', [
      'remote_id',
      'online',
    ]);
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: ConnectionStateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(change: ConnectionStateChange): void {
    this.changes.inc({ remote_id: change.remote_id, online: String(change.online) });
    this.logger.log({ remote_id: change.remote_id, online: change.online }, `remote ${change.remote_id} is ${change.online ? 'online' : 'offline'}`);
    for (const listener of this.listeners) {
      try {
        const result = listener(change);
        if (result instanceof Promise) {
          result.catch((err: unknown) => this.logger.error({ err, remote_id: change.remote_id }, 'connection-state listener failed'));
        }
      } catch (err) {
        this.logger.error({ err, remote_id: change.remote_id }, 'connection-state listener failed');
      }
    }
  }
}
