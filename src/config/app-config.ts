export interface AppConfig {
  http: {
    port: number;
    siteUrl: string;
    trustProxy: boolean | number | string;
    /** A connection idle this long mid-request is answered 408 and closed. */
    idleTimeoutMs: number;
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
  redis: { url: string; queuePrefix: string };
  files: { dir: string; maxFileSize: number };
  log: { level: string };
  remoteCluster: {
    /** Heartbeat period for confirmed remotes. */
    pingIntervalMs: number;
    /** Online means a successful ping within this window. */
    offlineAfterMs: number;
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
  };
  auth: {
    passwordHashCost: number;
    sessionLengthMs: number;
    bootstrapAdmin?: { username: string; password: string; email: string };
  };
}

export const APP_CONFIG = Symbol('APP_CONFIG');
