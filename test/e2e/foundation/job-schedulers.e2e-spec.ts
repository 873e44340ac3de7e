import { JobProducer } from '../../../src/queue/job-producer.js';
import { JOB_QUEUE, JobName } from '../../../src/queue/queue.constants.js';
import { startInstance, type Instance } from '../../support/instance.js';

describe('repeating job triggers after Redis lost its keys', () => {
  let inst: Instance;
  afterAll(() => inst?.destroy());

  it('are declared again by the replica (the heartbeat, the sweeps), and an existing one is left alone', async () => {
    inst = await startInstance('schedulers');
    const jobs = inst.app!.get(JobProducer);
    const heartbeat = jobs.queue(JOB_QUEUE[JobName.PingRemotes]);
    const sweep = jobs.queue(JOB_QUEUE[JobName.SyncSweep]);
    expect(await heartbeat.getJobScheduler(`scheduler:${JobName.PingRemotes}`)).toBeTruthy();
    // As a Redis restarted without persistence would have it.
    await heartbeat.removeJobScheduler(`scheduler:${JobName.PingRemotes}`);
    await sweep.removeJobScheduler(`scheduler:${JobName.SyncSweep}`);
    expect(await heartbeat.getJobScheduler(`scheduler:${JobName.PingRemotes}`)).toBeFalsy();

    const restored = await jobs.checkSchedules();
    expect(restored).toEqual(expect.arrayContaining([JobName.PingRemotes, JobName.SyncSweep]));
    expect(await heartbeat.getJobScheduler(`scheduler:${JobName.PingRemotes}`)).toBeTruthy();
    expect(await sweep.getJobScheduler(`scheduler:${JobName.SyncSweep}`)).toBeTruthy();
    expect(await jobs.checkSchedules()).toEqual([]);
  });
});
