import type { JobsOptions } from 'bullmq';

/** Every BullMQ queue of the server. A queue's owning module registers it, its board and its processor. */
export enum QueueName {
  Maintenance = 'maintenance',
  RemoteCluster = 'remote-cluster',
  Sync = 'sync',
  SharedChannel = 'shared-channel',
}

/** Every job, with the queue it runs on. */
export enum JobName {
  SessionCleanup = 'session-cleanup',
  /** Heartbeat trigger: sweeps stale connections and fans out one PingRemote per confirmed remote. */
  PingRemotes = 'ping-remotes',
  /** One ping to one remote, recording the result and any connection-state change. */
  PingRemote = 'ping-remote',
  /** Trigger: deletes delivery trace rows older than TRACE_RETENTION_HOURS. */
  TracePrune = 'trace-prune',
  /** One sync pass of one shared channel to one remote. */
  SyncChannel = 'sync-channel',
  /** Safety net: re-queues every (channel, remote) whose cursors are behind. */
  SyncSweep = 'sync-sweep',
  /** Sends local users changed since the remote's cursor to one remote, in batches (protocol 6.4). */
  GlobalUserSync = 'global-user-sync',
  /** Trigger: enqueues a ConsistencyCheck for every (shared channel, remote) pair whose periodic check is due. */
  ConsistencySweep = 'consistency-sweep',
  /** One consistency check (anti-entropy) of one shared channel with one remote, repairing what differs. */
  ConsistencyCheck = 'consistency-check',
  /** The unshares owed to a remote whose connection was deleted here, retried until the peer has them all. */
  DeliverUnshares = 'deliver-unshares',
  /** A few batches of a history backfill of one shared channel to one remote (low priority; queues its successor). */
  SyncBackfill = 'sync-backfill',
}

/** Payload of each job: enqueue() with a wrong payload does not compile. */
export interface JobPayloads {
  [JobName.SessionCleanup]: Record<string, never>;
  [JobName.PingRemotes]: Record<string, never>;
  [JobName.PingRemote]: { remote_id: string };
  [JobName.TracePrune]: Record<string, never>;
  [JobName.SyncChannel]: { channel_id: string; remote_id: string };
  [JobName.SyncSweep]: Record<string, never>;
  [JobName.GlobalUserSync]: { remote_id: string };
  [JobName.ConsistencySweep]: Record<string, never>;
  [JobName.ConsistencyCheck]: { channel_id: string; remote_id: string };
  [JobName.DeliverUnshares]: { remote_id: string };
  [JobName.SyncBackfill]: { channel_id: string; remote_id: string };
}

export const JOB_QUEUE: { [N in JobName]: QueueName } = {
  [JobName.SessionCleanup]: QueueName.Maintenance,
  [JobName.PingRemotes]: QueueName.RemoteCluster,
  [JobName.PingRemote]: QueueName.RemoteCluster,
  [JobName.TracePrune]: QueueName.RemoteCluster,
  [JobName.SyncChannel]: QueueName.Sync,
  [JobName.SyncSweep]: QueueName.Sync,
  [JobName.GlobalUserSync]: QueueName.Sync,
  [JobName.ConsistencySweep]: QueueName.Sync,
  [JobName.ConsistencyCheck]: QueueName.Sync,
  [JobName.DeliverUnshares]: QueueName.SharedChannel,
  [JobName.SyncBackfill]: QueueName.Sync,
};

/**
 * The one set of job options (the queues' defaultJobOptions; an enqueue adds only what is its own: delay,
 * deduplication, job id). Transient failures are retried by BullMQ with exponential backoff from 2 s (2, 4, 8,
 * 16 s); permanent ones throw UnrecoverableError. A sync job that gives up is re-queued by the sweep anyway.
 */
export const DEFAULT_JOB_ATTEMPTS = 5;
export const DEFAULT_BACKOFF_MS = 2_000;

/** Keep finished jobs bounded by age and count: a board to look at, not an unbounded Redis. */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: DEFAULT_JOB_ATTEMPTS,
  backoff: { type: 'exponential', delay: DEFAULT_BACKOFF_MS },
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
};
