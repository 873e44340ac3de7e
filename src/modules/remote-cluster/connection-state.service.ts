import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { Counter } from 'prom-client';
import { MetricsService } from '../../metrics/metrics.service.js';

/** A remote went offline->online or online->offline, as seen by our own pings. */
export interface ConnectionStateChange {
  remote_id: string;
  online: boolean;
  /** When the change was observed (ms). */
  at: number;
}

/** Event name of ConnectionStateChange on the app's EventEmitter2. */
export const CONNECTION_STATE_EVENT = 'remote-cluster.connection-state';

/**
 * Connection-state events (CONNECTION_STATE_EVENT). Each change is emitted once in the whole cluster of replicas:
 * only the replica whose database update flipped the remote's state calls emit(). Shared channels listen
 * (`@OnEvent(CONNECTION_STATE_EVENT)`) to re-send pending invites and resume syncing when a remote comes back. A
 * listener that throws is logged by the emitter and never affects other listeners or the heartbeat.
 */
@Injectable()
export class ConnectionStateService {
  private readonly logger = new Logger(ConnectionStateService.name);
  private readonly changes: Counter<'remote_id' | 'online'>;

  constructor(
    metrics: MetricsService,
    private readonly emitter: EventEmitter2,
  ) {
    this.changes = metrics.counter('remote_cluster_conn_state_change_total', 'Connection state changes of remote clusters', [
      'remote_id',
      'online',
    ]);
  }

  emit(change: ConnectionStateChange): void {
    this.changes.inc({ remote_id: change.remote_id, online: String(change.online) });
    this.logger.log({ remote_id: change.remote_id, online: change.online }, `remote ${change.remote_id} is ${change.online ? 'online' : 'offline'}`);
    this.emitter.emit(CONNECTION_STATE_EVENT, change);
  }
}
