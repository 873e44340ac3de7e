import { Injectable } from '@nestjs/common';
import { Counter, Gauge, type Histogram } from 'prom-client';
import { MetricsService } from '../../metrics/metrics.service.js';

/** The WebSocket's Prometheus metrics (this replica's): connections, event rates, slow clients, reconnects. */
@Injectable()
export class WebSocketMetrics {
  readonly published: Counter<'event'>;
  readonly delivered: Counter<'event'>;
  readonly dropped: Counter<'reason'>;
  readonly slowClients: Counter;
  readonly reconnects: Counter<'result'>;
  readonly deliveryLatency: Histogram;
  private counts: () => { active: number; resumable: number } = () => ({ active: 0, resumable: 0 });

  constructor(metrics: MetricsService) {
    this.published = metrics.counter('websocket_events_published_total', 'Events this replica published to every replica (Redis stream), by event', ['event']);
    this.delivered = metrics.counter('websocket_events_delivered_total', 'Event frames written to this replica\'s sockets (one per receiving connection), by event', ['event']);
    this.dropped = metrics.counter('websocket_events_dropped_total', 'Events that could not be published or delivered, by reason', ['reason']);
    this.slowClients = metrics.counter('websocket_slow_client_disconnects_total', 'Connections dropped because their unsent frames passed WEBSOCKET_SEND_BUFFER_BYTES', []);
    this.reconnects = metrics.counter('websocket_reconnects_total', 'Reconnections with a connection_id: resumed, lossless (nothing missed) or fresh (a new hello)', ['result']);
    this.deliveryLatency = metrics.histogram(
      'websocket_event_delivery_seconds',
      'From the change committing (or the event being raised) to its frames being written on this replica',
      [],
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    );
    const self = this;
    new Gauge({
      name: 'websocket_connections',
      help: 'Open WebSocket connections on this replica (authenticated)',
      registers: [metrics.registry],
      collect() {
        this.set(self.counts().active);
      },
    });
    new Gauge({
      name: 'websocket_connections_resumable',
      help: 'Dropped connections whose events are still kept for a resume on this replica',
      registers: [metrics.registry],
      collect() {
        this.set(self.counts().resumable);
      },
    });
  }

  setCounts(fn: () => { active: number; resumable: number }): void {
    this.counts = fn;
  }
}
