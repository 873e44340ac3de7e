import { UnrecoverableError, type Job } from 'bullmq';
import type { AppConfig } from '../../config/app-config.js';
import type { BackfillService } from './backfill/backfill.service.js';
import type { ConsistencyScheduler } from './consistency/consistency-scheduler.service.js';
import type { ConsistencyService } from './consistency/consistency.service.js';
import type { GlobalUserSyncService } from './global-user-sync.service.js';
import { SyncProcessor } from './sync.processor.js';
import type { SyncScheduler } from './sync-scheduler.service.js';
import type { SyncSender } from './sync-sender.service.js';
import type { SyncMetrics } from './sync.metrics.js';

describe('SyncProcessor', () => {
  const processor = new SyncProcessor(
    {} as SyncSender,
    { sweep: async () => 3 } as unknown as SyncScheduler,
    {} as GlobalUserSyncService,
    { check: async () => null } as unknown as ConsistencyService,
    { sweep: async () => 2 } as unknown as ConsistencyScheduler,
    { sweep: async () => 1 } as unknown as BackfillService,
    { jobs: { inc: () => undefined } } as unknown as SyncMetrics,
    { sync: { concurrency: 1 } } as AppConfig,
  );

  it('ends a job whose name it has no handler for as unrecoverable (retrying cannot give it one)', async () => {
    await expect(processor.process({ name: 'no-such-job', data: {} } as Job)).rejects.toBeInstanceOf(UnrecoverableError);
  });

  it('runs the triggers, and a consistency check that finds its pair busy does nothing', async () => {
    expect(await processor.process({ name: 'sync-sweep', data: {} } as Job)).toEqual({ scheduled: 3, backfills: 1 });
    expect(await processor.process({ name: 'consistency-sweep', data: {} } as Job)).toEqual({ scheduled: 2 });
    expect(await processor.process({ name: 'consistency-check', data: { channel_id: 'c', remote_id: 'r' } } as Job)).toEqual({ skipped: 'running' });
  });
});
