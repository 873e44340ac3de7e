export interface AppConfig {
  http: {
    port: number;
    siteUrl: string;
    trustProxy: boolean | number | string;
    /** A connection idle this long mid-request is answered 408 and closed. */
    idleTimeoutMs: number;
  };
  metrics: {
    /** CIDRs allowed to scrape /metrics; empty: any address. */
    allowedNetworks: string[];
    /** Bearer token /metrics requires, if any. */
    token?: string;
  };
  database: {
    url: string;
    migrationsRun: boolean;
    poolSize: number;
    /** Longest wait for a pooled connection; then 503 with Retry-After. */
    poolTimeoutMs: number;
  };
  /** /health/ready is down while the event loop has lately lagged more than this. */
  health: { maxEventLoopLagMs: number };
  /** What clients and peers may send (README "Limits"); counters live in Redis, shared by replicas. */
  limits: {
    remoteRequests: number;
    remoteWindowMs: number;
    loginFailuresPerAddress: number;
    loginFailuresPerAccount: number;
    inviteFailuresPerAddress: number;
    failureWindowMs: number;
    postPropsMaxBytes: number;
    userPropsMaxBytes: number;
  };
  redis: {
    url: string;
    queuePrefix: string;
    /** Redis Sentinel: when set, clients ask these for the primary of `name` instead of REDIS_URL's host. */
    sentinel?: { sentinels: Array<{ host: string; port: number }>; name: string; password?: string };
  };
  /** SIGTERM: not ready at once, keep serving drainMs, then close within timeoutMs. */
  shutdown: { drainMs: number; timeoutMs: number };
  files: { dir: string; maxFileSize: number };
  log: { level: string };
  remoteCluster: {
    /** Heartbeat period for confirmed remotes. */
    pingIntervalMs: number;
    /** Online means a successful ping within this window. */
    offlineAfterMs: number;
    /** CIDRs on the outbound deny list that peers may still be reached in (REMOTE_ALLOWED_NETWORKS). */
    allowedNetworks: string[];
    /** How long a rotated-out token stays valid once the peer has presented its successor. */
    tokenOverlapMs: number;
    /** REMOTE_TOKEN_KEY: seals remote_token at rest; undefined stores it in clear. */
    tokenKey?: Buffer;
  };
  sync: {
    delayMs: number;
    batchPosts: number;
    concurrency: number;
    perRemoteConcurrency: number;
    sweepIntervalMs: number;
    postMaxAttempts: number;
    /** Membership changes of shared channels are sent and applied. */
    membershipSync: boolean;
    /** All local users are sent on connection and on request; peers' global user syncs are applied. */
    globalUserSync: boolean;
    /** How far ahead of our clock a peer's item timestamps may be before the item is refused. */
    maxClockSkewMs: number;
    /** Period of each (shared channel, remote) consistency check run by the home; 0 = only on request. */
    consistencyIntervalMs: number;
    /** Posts per batch of a history backfill. */
    backfillBatchPosts: number;
  };
  trace: {
    /** Delivery trace rows older than this are pruned. */
    retentionMs: number;
  };
  websocket: {
    /** A connection whose unsent bytes pass this is too slow and is dropped. */
    sendBufferBytes: number;
    /** Events a connection keeps for a client that reconnects with its connection_id. */
    resumeBufferEvents: number;
    /** How long a dropped connection's events are kept for it. */
    resumeWindowMs: number;
  };
  auth: {
    passwordHashCost: number;
    sessionLengthMs: number;
    bootstrapAdmin?: { username: string; password: string; email: string };
  };
}

export const APP_CONFIG = Symbol('APP_CONFIG');
