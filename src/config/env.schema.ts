import { Transform } from 'class-transformer';
import { IsBoolean, IsEmail, IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, MinLength } from 'class-validator';

const toBool = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
};
const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
const urlOpts = { require_tld: false, require_protocol: true, protocols: ['http', 'https'] };

/**
 * Every environment variable the server reads, declared once with its default.
 * .env.example documents the same keys; a unit test keeps the two in step.
 */
export class EnvironmentVariables {
  @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  PORT = 8065;

  @IsUrl(urlOpts)
  SITE_URL = 'http://localhost:8065';

  @IsString() @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/mmfed';

  @IsString() @Matches(/^rediss?:\/\//, { message: 'REDIS_URL must be a redis:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  /**
   * Redis Sentinel: a comma-separated host:port list. When set, REDIS_URL's host and port are ignored and every Redis
   * client (BullMQ's included) asks the sentinels for the current primary of REDIS_SENTINEL_NAME; REDIS_URL still
   * gives the password, user, database and TLS.
   */
  @IsString() @Matches(/^$|^[A-Za-z0-9.\-_:[\]]+:\d{1,5}(,[A-Za-z0-9.\-_:[\]]+:\d{1,5})*$/, { message: 'REDIS_SENTINELS must be a comma-separated host:port list' })
  REDIS_SENTINELS = '';

  /** The master group name the sentinels monitor (sentinel.conf `sentinel monitor <name> ...`). */
  @IsString() @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'REDIS_SENTINEL_NAME must be 1-64 of [A-Za-z0-9_.-]' })
  REDIS_SENTINEL_NAME = 'mymaster';

  /** Password of the sentinels themselves (sentinel.conf `requirepass`), when they have one. */
  @IsOptional() @IsString() @MinLength(1)
  REDIS_SENTINEL_PASSWORD?: string = undefined;

  @IsString() @Matches(/^[A-Za-z0-9_.:{}-]{1,64}$/, { message: 'QUEUE_PREFIX must be 1-64 of [A-Za-z0-9_.:{}-]' })
  QUEUE_PREFIX = 'mmfed';

  /**
   * On SIGTERM, how long (ms) the replica keeps serving while /health/ready already answers 503, so the load balancer
   * stops sending it new requests before it stops listening.
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(600_000)
  SHUTDOWN_DRAIN_MS = 5_000;

  /** Longest (ms) the rest of a graceful shutdown (in-flight requests, running jobs, pools) may take before the process exits 1. */
  @Transform(toInt) @IsInt() @Min(1_000) @Max(3_600_000)
  SHUTDOWN_TIMEOUT_MS = 30_000;

  @IsString() @MinLength(1)
  FILES_DIR = './data/files';

  @Transform(toInt) @IsInt() @Min(1)
  MAX_FILE_SIZE = 104857600;

  @Transform(toBool) @IsBoolean()
  MIGRATIONS_RUN = true;

  /** Most PostgreSQL connections this process opens (replicas x this must stay under the server's max_connections). */
  @Transform(toInt) @IsInt() @Min(1) @Max(1000)
  DATABASE_POOL_SIZE = 20;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /** Express "trust proxy" setting: false, true, a hop count, or a list of addresses/subnets. */
  @IsString()
  TRUST_PROXY = 'false';

  @IsOptional() @IsString() @Matches(/^[a-z0-9.\-_]{3,64}$/, { message: 'ADMIN_USERNAME must be 3-64 of [a-z0-9.-_]' })
  ADMIN_USERNAME?: string = undefined;

  @IsOptional() @IsString() @MinLength(8)
  ADMIN_PASSWORD?: string = undefined;

  @IsOptional() @IsEmail()
  ADMIN_EMAIL?: string = undefined;

  /** bcrypt cost; 10 is Mattermost's own. Lower only in tests. */
  @Transform(toInt) @IsInt() @Min(4) @Max(15)
  PASSWORD_HASH_COST = 10;

  /** Session lifetime in days (Mattermost's SessionLengthWebInDays default is 30). */
  @Transform(toInt) @IsInt() @Min(1)
  SESSION_LENGTH_DAYS = 30;

  /** How often each confirmed remote cluster is pinged (Mattermost's PingFreq is 60 s). */
  @Transform(toInt) @IsInt() @Min(100) @Max(3_600_000)
  PING_INTERVAL_MS = 60_000;

  /** A remote is online while its last successful ping is younger than this (Mattermost: 5 min). */
  @Transform(toInt) @IsInt() @Min(200) @Max(86_400_000)
  REMOTE_OFFLINE_AFTER_MS = 300_000;

  /**
   * Networks this server may call peers in although they are on the deny list (loopback, private, link-local,
   * unique-local, cloud metadata...): a comma-separated CIDR list. Empty: only public addresses.
   */
  @IsString()
  REMOTE_ALLOWED_NETWORKS = '';

  /**
   * 32 random bytes, base64: seals the tokens we present to peers (remote_token) at rest with AES-256-GCM. Unset:
   * stored in clear (sending needs them). Generate with `openssl rand -base64 32`.
   */
  @IsOptional() @IsString() @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'REMOTE_TOKEN_KEY must be 32 bytes in base64 (openssl rand -base64 32)' })
  REMOTE_TOKEN_KEY?: string = undefined;

  /** After a token rotation, how long a peer's previous token is still accepted once it has used the new one. */
  @Transform(toInt) @IsInt() @Min(0) @Max(86_400_000)
  REMOTE_TOKEN_OVERLAP_MS = 300_000;

  /** Clients allowed to scrape /metrics: a comma-separated CIDR list (empty: any client, unless METRICS_TOKEN is set). */
  @IsString()
  METRICS_ALLOWED_NETWORKS = '';

  /** When set, /metrics also requires `Authorization: Bearer <METRICS_TOKEN>` (at least 16 characters). */
  @IsOptional() @IsString() @MinLength(16)
  METRICS_TOKEN?: string = undefined;

  /** Wait after a change before syncing its channel, so bursts coalesce into one run (Mattermost waits 2 s). */
  @Transform(toInt) @IsInt() @Min(0) @Max(60_000)
  SYNC_DELAY_MS = 250;

  /** Posts per sync pass; long ones are split over messages of at most 2 MiB (Mattermost sends 50 per message). */
  @Transform(toInt) @IsInt() @Min(1) @Max(1000)
  SYNC_BATCH_POSTS = 500;

  /** Sync jobs run at once per replica; a remote runs at most SYNC_PER_REMOTE_CONCURRENCY of them (as many again may wait for a slot while the other remotes keep their share). */
  @Transform(toInt) @IsInt() @Min(1) @Max(256)
  SYNC_CONCURRENCY = 16;

  @Transform(toInt) @IsInt() @Min(1) @Max(256)
  SYNC_PER_REMOTE_CONCURRENCY = 4;

  /** How often the sweep compares every shared channel's cursors with its latest change (safety net for lost jobs). */
  @Transform(toInt) @IsInt() @Min(100) @Max(3_600_000)
  SYNC_SWEEP_INTERVAL_MS = 30_000;

  /** A post a remote keeps rejecting is retried this many times with backoff, then parked for an admin. */
  @Transform(toInt) @IsInt() @Min(1) @Max(100)
  SYNC_POST_MAX_ATTEMPTS = 5;

  /**
   * A peer's post, reaction or acknowledgement whose timestamps are further ahead of this server's clock than this is
   * refused (per item): a peer with a fast clock could otherwise pin its posts at the top of the channel or win every
   * later edit under last-writer-wins.
   */
  @Transform(toInt) @IsInt() @Min(1_000) @Max(86_400_000)
  SYNC_MAX_CLOCK_SKEW_MS = 300_000;

  /**
   * Period of the consistency check (anti-entropy) of each shared channel with each of its remotes, run by the
   * channel's home and spread over the period; 0 turns the periodic check off (POST .../consistency still runs one).
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(604_800_000)
  CONSISTENCY_CHECK_INTERVAL_MS = 3_600_000;

  /**
   * Posts per batch of a history backfill (a channel's posts from before it was shared, sent on request): small
   * batches in low-priority jobs, so live sync never waits for history.
   */
  @Transform(toInt) @IsInt() @Min(1) @Max(1000)
  SYNC_BACKFILL_BATCH = 100;

  /** How long the delivery trace (envelopes in and out, per-item outcomes) is kept before it is pruned. */
  @Transform(toInt) @IsInt() @Min(1) @Max(8760)
  TRACE_RETENTION_HOURS = 72;

  /** Members added to or removed from a shared channel propagate to its remotes (Mattermost's EnableSharedChannelsMemberSync). */
  @Transform(toBool) @IsBoolean()
  ENABLE_MEMBERSHIP_SYNC = true;

  /**
   * Every local user is sent to a remote when its connection comes up and on an admin's request, not only the users
   * of shared channels (Mattermost's EnableSyncAllUsersForRemoteCluster / SyncUsersOnConnectionOpen). Also gates
   * accepting such a sync from a peer.
   */
  @Transform(toBool) @IsBoolean()
  ENABLE_GLOBAL_USER_SYNC = false;

  /** A WebSocket client whose unsent frames pass this many bytes is too slow and is disconnected. */
  @Transform(toInt) @IsInt() @Min(16_384) @Max(67_108_864)
  WEBSOCKET_SEND_BUFFER_BYTES = 1_048_576;

  /** Events each WebSocket connection keeps so a client that reconnects with its connection_id misses none. */
  @Transform(toInt) @IsInt() @Min(16) @Max(100_000)
  WEBSOCKET_RESUME_BUFFER = 256;

  /** How long (ms) a dropped WebSocket connection's events are kept for it (0: no resumption). */
  @Transform(toInt) @IsInt() @Min(0) @Max(3_600_000)
  WEBSOCKET_RESUME_WINDOW_MS = 300_000;

  // ---- limits on what clients and peers may send (README "Limits") ----

  /** A connection that carries nothing this long in the middle of a request is answered 408 and closed. */
  @Transform(toInt) @IsInt() @Min(100) @Max(3_600_000)
  HTTP_IDLE_TIMEOUT_MS = 60_000;

  /** Longest a request waits for a PostgreSQL connection from the pool before it is answered 503 with Retry-After. */
  @Transform(toInt) @IsInt() @Min(100) @Max(600_000)
  DATABASE_POOL_TIMEOUT_MS = 5_000;

  /** /health/ready answers 503 while the event loop has lately been blocked longer than this. */
  @Transform(toInt) @IsInt() @Min(10) @Max(600_000)
  READY_MAX_EVENT_LOOP_LAG_MS = 1_000;

  /** Requests one remote may make to the server-to-server routes per RATE_LIMIT_REMOTE_WINDOW_MS (shared by replicas). */
  @Transform(toInt) @IsInt() @Min(1)
  RATE_LIMIT_REMOTE_REQUESTS = 3_000;

  @Transform(toInt) @IsInt() @Min(100) @Max(3_600_000)
  RATE_LIMIT_REMOTE_WINDOW_MS = 10_000;

  /** Failed logins allowed per client address, and per account, in RATE_LIMIT_FAILURE_WINDOW_MS. */
  @Transform(toInt) @IsInt() @Min(1)
  RATE_LIMIT_LOGIN_FAILURES_PER_ADDRESS = 50;

  @Transform(toInt) @IsInt() @Min(1)
  RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT = 10;

  /** Failed invitation acceptances (wrong code or password) allowed per client address in the window. */
  @Transform(toInt) @IsInt() @Min(1)
  RATE_LIMIT_INVITE_FAILURES_PER_ADDRESS = 10;

  @Transform(toInt) @IsInt() @Min(1_000) @Max(86_400_000)
  RATE_LIMIT_FAILURE_WINDOW_MS = 900_000;

  /** Largest `props` of a post, as JSON bytes: from clients and from peers (a larger one from a peer is refused alone). */
  @Transform(toInt) @IsInt() @Min(1_024) @Max(8_388_608)
  POST_PROPS_MAX_BYTES = 131_072;

  /** Largest `props` of a user profile, as JSON bytes: from clients and from peers. */
  @Transform(toInt) @IsInt() @Min(1_024) @Max(1_048_576)
  USER_PROPS_MAX_BYTES = 16_384;
}

export type EnvKey = keyof EnvironmentVariables;
