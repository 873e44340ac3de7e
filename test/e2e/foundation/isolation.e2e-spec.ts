import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { QueueName } from '../../../src/queue/queue.constants.js';
import { http, login } from '../../support/http.js';
import { startPair, type Instance } from '../../support/instance.js';

function maintenanceQueue(inst: Instance): Queue {
  return inst.app!.get<Queue>(getQueueToken(QueueName.Maintenance), { strict: false });
}

describe('two instances in one process', () => {
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    [a, b] = await startPair();
  });
  afterAll(() => Promise.all([a?.destroy(), b?.destroy()]));

  it('have their own databases and queue prefixes', () => {
    expect(a.dbName).not.toBe(b.dbName);
    expect(a.queuePrefix).not.toBe(b.queuePrefix);
    expect(a.url).not.toBe(b.url);
  });

  it('see none of each other\'s data', async () => {
    const tokenA = await login(a);
    const res = await http(a, 'POST', '/api/v4/users', {
      token: tokenA,
      body: { username: 'only-on-a', email: 'only@a.example.com', password: 'password-a' },
    });
    expect(res.status).toBe(201);

    expect(await a.query('SELECT id FROM users WHERE username = $1', ['only-on-a'])).toHaveLength(1);
    expect(await b.query('SELECT id FROM users WHERE username = $1', ['only-on-a'])).toHaveLength(0);
    const onB = await http(b, 'POST', '/api/v4/users/login', { body: { login_id: 'only-on-a', password: 'password-a' } });
    expect(onB.status).toBe(401);

    // A's session token means nothing to B.
    expect((await http(b, 'GET', '/api/v4/users/me', { token: tokenA })).status).toBe(401);
  });

  it('see none of each other\'s jobs', async () => {
    const qa = maintenanceQueue(a);
    const qb = maintenanceQueue(b);
    await qa.pause();
    await qb.pause();
    try {
      const job = await qa.add('session-cleanup', {}, { jobId: 'isolation-probe' });
      expect(await qa.getJob(job.id!)).toBeDefined();
      expect(await qb.getJob(job.id!)).toBeUndefined();
      const waitingA = await qa.getWaiting();
      const waitingB = await qb.getWaiting();
      expect(waitingA.map((j) => j.id)).toContain('isolation-probe');
      expect(waitingB.map((j) => j.id)).not.toContain('isolation-probe');
      // Each instance has its own session-cleanup scheduler under its own prefix.
      expect((await qa.getJobSchedulers()).map((s) => s.key)).toEqual(['scheduler:session-cleanup']);
      expect((await qb.getJobSchedulers()).map((s) => s.key)).toEqual(['scheduler:session-cleanup']);
      expect(qa.opts.prefix).toBe(`${a.queuePrefix}:bull`);
      expect(qb.opts.prefix).toBe(`${b.queuePrefix}:bull`);
    } finally {
      await qa.resume();
      await qb.resume();
    }
  });
});
