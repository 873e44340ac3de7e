export interface AppConfig {
  http: { port: number; siteUrl: string; trustProxy: boolean | number | string };
  database: { url: string; migrationsRun: boolean; poolSize: number };
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
    /** How far ahead of our clock a peer's item timestamps may be before the item is refused. */
    maxClockSkewMs: number;
    /** Period of each (shared channel, remote) consistency check run by the home; 0 = only on request. */
    consistencyIntervalMs: number;
  };
  auth: {
    passwordHashCost: number;
    sessionLengthMs: number;
    bootstrapAdmin?: { username: string; password: string; email: string };
  };
}

export const APP_CONFIG = Symbol('APP_CONFIG');
