import { DEFAULT_BACKOFF_MS } from '../../queue/queue.constants.js';

/** Users per sync message (Mattermost's batch). */
export const SYNC_BATCH_USERS = 25;
/** Reactions or acknowledgements per sync message. */
export const SYNC_BATCH_REACTIONS = 500;
/** Journalled user changes (profile, picture, status) looked at per pass. */
export const SYNC_BATCH_USER_EVENTS = 200;
/** Rejected posts retried per pass. */
export const SYNC_RETRIES_PER_PASS = 20;
/** Retry delay for a rejected post after `attempts` failures: 2 s, 4 s, 8 s, ... capped at 10 min (as jobs back off). */
export function postRetryBackoffMs(attempts: number): number {
  return Math.min(600_000, DEFAULT_BACKOFF_MS * 2 ** Math.max(0, attempts - 1));
}
/** When a remote already has this replica's share of jobs running, a job for it waits this long and tries again. */
export const PER_REMOTE_BUSY_DELAY_MS = 100;
/** Local system posts (joins, leaves, share notices) stay local, as Mattermost keeps channel-metadata posts. */
export function isLocalOnlyPostType(type: string): boolean {
  return type.startsWith('system_');
}
/** Lock of a running sync job; renewed every half of it while the job runs. */
export const SYNC_LOCK_MS = 10_000;
/** How often workers look for jobs whose lock expired (their replica died). */
export const SYNC_STALLED_CHECK_MS = 5_000;
/** Users per global user sync message (Mattermost's GlobalUserSyncBatchSize default). */
export const GLOBAL_USER_SYNC_BATCH = 25;
/** Batches one global user sync job sends before it queues the next job (so one job never runs for long). */
export const GLOBAL_USER_SYNC_BATCHES_PER_JOB = 40;
/**
 * How long one sync job keeps taking further batches of a backlog before it hands the rest to a new job: long
 * enough that a catch-up does not pay a queue round trip per batch, short enough that a worker slot is not held
 * for long (the lock is renewed meanwhile).
 */
export const SYNC_JOB_BUDGET_MS = 2_000;
/**
 * Most bytes of posts in one sync message. A batch of SYNC_BATCH_POSTS long posts is split over several messages,
 * so no peer (Mattermost's receiver included) is handed a request of many megabytes.
 */
export const SYNC_MAX_POSTS_BYTES = 2 * 1024 * 1024;
