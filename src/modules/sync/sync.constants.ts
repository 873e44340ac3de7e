/** Users per sync message (Mattermost's batch). */
export const SYNC_BATCH_USERS = 25;
/** Reactions or acknowledgements per sync message. */
export const SYNC_BATCH_REACTIONS = 500;
/** Journalled user changes (profile, picture, status) looked at per pass. */
export const SYNC_BATCH_USER_EVENTS = 200;
/** Retried items of one kind sent per pass. */
export const SYNC_RETRIES_PER_PASS = 100;
/**
 * Longest wait between two attempts of a refused item. The delay after n refusals is DEFAULT_BACKOFF_MS * 2^(n-1)
 * (2 s, 4 s, 8 s, ... as jobs back off), capped here; SyncRepository.recordRetries computes it in its statement.
 */
export const RETRY_BACKOFF_CAP_MS = 600_000;
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
 * Most bytes of items in one sync message. A batch of SYNC_BATCH_POSTS long posts is split over several messages,
 * so no peer (Mattermost's receiver included) is handed a request of many megabytes. A receiver that refuses a
 * message as too large lowers this for the rest of the pass (and the message is split down to single items).
 */
export const SYNC_MAX_MESSAGE_BYTES = 2 * 1024 * 1024;
/** The budget never drops below this after a refusal: a message of one item is tried whatever its size. */
export const SYNC_MIN_MESSAGE_BYTES = 4 * 1024;
