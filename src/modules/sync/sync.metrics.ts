import { Injectable } from '@nestjs/common';
import type { Counter, Histogram } from 'prom-client';
import { Gauge } from 'prom-client';
import { MetricsService } from '../../metrics/metrics.service.js';

interface MetricSources {
  queueSize: () => Promise<number>;
  parked: () => Promise<Array<{ remote_id: string; kind: string; count: number }>>;
}

/** Sync metrics (names follow Mattermost's shared_channels_* family, without its namespace). */
@Injectable()
export class SyncMetrics {
  readonly syncs: Counter<'remote_id' | 'result'>;
  readonly jobs: Counter<'name'>;
  readonly lag: Histogram<'remote_id'>;
  readonly itemsSent: Counter<'remote_id' | 'kind'>;
  readonly itemsReceived: Counter<'remote_id' | 'kind'>;
  readonly itemErrors: Counter<'remote_id' | 'kind'>;
  readonly queueSize: Gauge;
  readonly consistencyChecks: Counter<'remote_id' | 'result'>;
  readonly consistencyDivergent: Counter<'remote_id' | 'kind'>;
  readonly consistencyRepaired: Counter<'remote_id' | 'kind'>;
  readonly consistencyBytes: Counter<'remote_id' | 'phase'>;
  readonly parked: Gauge<'remote_id'>;
  readonly parkedItems: Gauge<'remote_id' | 'kind'>;

  constructor(private readonly metrics: MetricsService) {
    this.syncs = metrics.counter('shared_channels_sync_counter', 'Sync passes per remote, by result', ['remote_id', 'result']);
    this.jobs = metrics.counter('shared_channels_sync_jobs_total', 'Jobs of the sync queue this replica ran, by job name (however they ended)', ['name']);
    this.lag = metrics.histogram(
      'shared_channels_sync_lag_seconds',
      'Time from the change on its origin (update_at) to its application here, per sending remote',
      ['remote_id'],
      [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    );
    this.itemsSent = metrics.counter('shared_channels_items_sent_total', 'Items sent to remotes and accepted', ['remote_id', 'kind']);
    this.itemsReceived = metrics.counter('shared_channels_items_received_total', 'Items received from remotes and written', ['remote_id', 'kind']);
    this.itemErrors = metrics.counter('shared_channels_item_errors_total', 'Items rejected, by the receiver or by us', ['remote_id', 'kind']);
    this.consistencyChecks = metrics.counter('shared_channels_consistency_checks_total', 'Consistency checks of a shared channel with a remote, by result', [
      'remote_id',
      'result',
    ]);
    this.consistencyDivergent = metrics.counter(
      'shared_channels_consistency_divergent_items_total',
      'Items a consistency check found different between this server and a remote (in-flight ones excluded)',
      ['remote_id', 'kind'],
    );
    this.consistencyRepaired = metrics.counter('shared_channels_consistency_repaired_items_total', 'Divergent items a consistency check repaired', [
      'remote_id',
      'kind',
    ]);
    this.consistencyBytes = metrics.counter(
      'shared_channels_consistency_bytes_total',
      'Payload bytes of consistency checks, both ways: digests and item lists (digest), fetched and pushed items (repair)',
      ['remote_id', 'phase'],
    );
    const self = this;
    this.queueSize = new Gauge({
      name: 'shared_channels_queue_size',
      help: 'Sync jobs waiting, delayed or active',
      registers: [metrics.registry],
      async collect() {
        if (self.sources) this.set(await self.sources.queueSize());
      },
    });
    this.parked = new Gauge({
      name: 'shared_channels_parked_posts',
      help: 'Posts a remote keeps rejecting, parked for an admin, per remote',
      labelNames: ['remote_id'],
      registers: [metrics.registry],
      async collect() {
        if (!self.sources) return;
        this.reset();
        for (const { remote_id, kind, count } of await self.sources.parked()) if (kind === 'post') this.set({ remote_id }, count);
      },
    });
    this.parkedItems = new Gauge({
      name: 'shared_channels_parked_items',
      help: 'Items a remote keeps refusing (or that are too large for it), parked for an admin, per remote and kind',
      labelNames: ['remote_id', 'kind'],
      registers: [metrics.registry],
      async collect() {
        if (!self.sources) return;
        this.reset();
        for (const { remote_id, kind, count } of await self.sources.parked()) this.set({ remote_id, kind }, count);
      },
    });
  }

  private sources?: MetricSources;

  /** Where the gauges read their values at scrape time. */
  setSources(sources: MetricSources): void {
    this.sources = sources;
  }
}
