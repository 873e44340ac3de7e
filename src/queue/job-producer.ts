import { getQueueToken } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Job, JobsOptions, Queue } from 'bullmq';
import { JOB_QUEUE, type JobName, type JobPayloads, type QueueName } from './queue.constants.js';

/** The one typed way to enqueue: the payload type follows from the job name. */
@Injectable()
export class JobProducer {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(private readonly moduleRef: ModuleRef) {}

  queue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = this.moduleRef.get<Queue>(getQueueToken(name), { strict: false });
      this.queues.set(name, q);
    }
    return q;
  }

  enqueue<N extends JobName>(name: N, data: JobPayloads[N], opts?: JobsOptions): Promise<Job> {
    return this.queue(JOB_QUEUE[name]).add(name, data, opts);
  }

  /** Repeating trigger shared by every replica: one scheduler id, so N replicas still fire once per interval. */
  async schedule<N extends JobName>(name: N, everyMs: number, data: JobPayloads[N]): Promise<void> {
    await this.queue(JOB_QUEUE[name]).upsertJobScheduler(`scheduler:${name}`, { every: everyMs }, { name, data });
  }

  /** Removes a repeating trigger (a setting turned it off). */
  async unschedule(name: JobName): Promise<void> {
    await this.queue(JOB_QUEUE[name]).removeJobScheduler(`scheduler:${name}`);
  }
}
