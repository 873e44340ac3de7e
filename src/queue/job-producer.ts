import { getQueueToken } from '@nestjs/bullmq';
import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Job, JobsOptions, Queue } from 'bullmq';
import { JOB_QUEUE, type JobName, type JobPayloads, type QueueName } from './queue.constants.js';

/** How often this replica checks that its repeating triggers still exist in Redis. */
export const SCHEDULE_CHECK_MS = 5_000;

/** The one typed way to enqueue: the payload type follows from the job name. */
@Injectable()
export class JobProducer implements OnApplicationShutdown {
  private readonly logger = new Logger(JobProducer.name);
  private readonly queues = new Map<QueueName, Queue>();
  /** The repeating triggers this replica declared, re-declared when Redis lost them (see checkSchedules). */
  private readonly schedules = new Map<JobName, { everyMs: number; data: unknown }>();
  private checkTimer?: NodeJS.Timeout;

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
    this.schedules.set(name, { everyMs, data });
    if (!this.checkTimer) {
      this.checkTimer = setInterval(() => void this.checkSchedules(), SCHEDULE_CHECK_MS);
      this.checkTimer.unref();
    }
    await this.queue(JOB_QUEUE[name]).upsertJobScheduler(`scheduler:${name}`, { every: everyMs }, { name, data });
  }

  /** Removes a repeating trigger (a setting turned it off). */
  async unschedule(name: JobName): Promise<void> {
    this.schedules.delete(name);
    await this.queue(JOB_QUEUE[name]).removeJobScheduler(`scheduler:${name}`);
  }

  /**
   * A Redis restarted without persistence (or flushed, or failed over to a replica that had not caught up) has lost
   * the job schedulers, and nothing would fire the heartbeat, the sweeps or the pruning again until a replica
   * restarts. Each replica re-declares the missing ones; an existing scheduler is left alone, so its timing holds.
   */
  async checkSchedules(): Promise<string[]> {
    const restored: string[] = [];
    for (const [name, { everyMs, data }] of this.schedules) {
      try {
        const queue = this.queue(JOB_QUEUE[name]);
        if (await queue.getJobScheduler(`scheduler:${name}`)) continue;
        await queue.upsertJobScheduler(`scheduler:${name}`, { every: everyMs }, { name, data: data as JobPayloads[typeof name] });
        restored.push(name);
        this.logger.warn(`job scheduler ${name} was missing from Redis (restarted or flushed?): declared again`);
      } catch (err) {
        // Redis away: the next check tries again.
        this.logger.debug({ err }, `could not check job scheduler ${name}`);
      }
    }
    return restored;
  }

  onApplicationShutdown(): void {
    if (this.checkTimer) clearInterval(this.checkTimer);
  }
}
