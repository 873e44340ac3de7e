import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
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

  describe("a remote's slots", () => {
    const started: string[] = [];
    const finish = new Map<string, () => void>();
    const sender = {
      run: (channelId: string) => {
        started.push(channelId);
        return new Promise((resolve) => finish.set(channelId, () => resolve({ more: false, sent: {} })));
      },
    };
    const withSlots = (concurrency: number, perRemoteConcurrency: number) =>
      new SyncProcessor(
        sender as unknown as SyncSender,
        {} as SyncScheduler,
        {} as GlobalUserSyncService,
        {} as ConsistencyService,
        {} as ConsistencyScheduler,
        {} as BackfillService,
        { jobs: { inc: () => undefined } } as unknown as SyncMetrics,
        { sync: { concurrency, perRemoteConcurrency } } as AppConfig,
      );
    const limited = withSlots(16, 2);
    const delayed: string[] = [];
    const job = (channelId: string) =>
      ({
        name: 'sync-channel',
        data: { channel_id: channelId, remote_id: 'r1' },
        moveToDelayed: async () => void delayed.push(channelId),
      }) as unknown as Job;
    const tick = () => new Promise((r) => setImmediate(r));

    it('a job finding them taken waits for one in the worker (up to as many again), only the next goes back to the queue', async () => {
      const runs = ['c1', 'c2', 'c3', 'c4'].map((c) => limited.process(job(c), 'token'));
      await tick();
      expect(started).toEqual(['c1', 'c2']);
      // Two more wait in the worker; a fifth goes back to the queue (delayed) instead.
      await expect(limited.process(job('c5'), 'token')).rejects.toBeInstanceOf(DelayedError);
      expect(delayed).toEqual(['c5']);
      finish.get('c1')!();
      await tick();
      expect(started).toEqual(['c1', 'c2', 'c3']);
      finish.get('c2')!();
      finish.get('c3')!();
      await tick();
      expect(started).toEqual(['c1', 'c2', 'c3', 'c4']);
      finish.get('c4')!();
      await Promise.all(runs);
      expect(delayed).toEqual(['c5']);
      // Every slot is free again: two jobs start at once.
      const again = ['c6', 'c7'].map((c) => limited.process(job(c), 'token'));
      await tick();
      expect(started.slice(-2)).toEqual(['c6', 'c7']);
      finish.get('c6')!();
      finish.get('c7')!();
      await Promise.all(again);
    });

    it('no job waits where waiting would leave the other remotes less than their share of the worker (a slow remote)', async () => {
      // SYNC_CONCURRENCY 4, 2 per remote: a waiting job holds a worker slot, so a third job of r1 waiting would leave
      // the other remotes 1 slot of 4. It goes back to the queue instead.
      const small = withSlots(4, 2);
      delayed.length = 0;
      const runs = ['s1', 's2'].map((c) => small.process(job(c), 'token'));
      await tick();
      expect(started.slice(-2)).toEqual(['s1', 's2']);
      await expect(small.process(job('s3'), 'token')).rejects.toBeInstanceOf(DelayedError);
      expect(delayed).toEqual(['s3']);
      finish.get('s1')!();
      finish.get('s2')!();
      await Promise.all(runs);
    });
  });
});
