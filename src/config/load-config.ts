import { trimTrailing } from '../common/strings.js';
import 'reflect-metadata';
import { isIP } from 'node:net';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import type { AppConfig } from './app-config.js';
import { EnvironmentVariables } from './env.schema.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const KEYS = Object.keys(new EnvironmentVariables());

function describe(errors: ValidationError[]): string[] {
  return errors.flatMap((e) => Object.values(e.constraints ?? {}).map((msg) => `${e.property}: ${msg}`));
}

function parseTrustProxy(raw: string): boolean | number | string {
  const v = raw.trim();
  if (v === 'true') return true;
  if (v === 'false' || v === '') return false;
  if (/^\d+$/.test(v)) return Number(v);
  return v;
}

/** A comma- or space-separated CIDR list (a bare address is one host); the entries that are not CIDRs. */
function splitCidrs(raw: string): { list: string[]; invalid: string[] } {
  const list = raw.split(/[\s,]+/).filter(Boolean);
  const invalid = list.filter((entry) => {
    const [addr, prefix, ...rest] = entry.split('/');
    const family = isIP(addr);
    if (!family || rest.length) return true;
    if (prefix === undefined) return false;
    return !/^\d{1,3}$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128);
  });
  return { list, invalid };
}

/** Reads only the declared keys from `env`, applies defaults, validates all of them, lists every bad key. */
export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const raw: Record<string, string> = {};
  for (const key of KEYS) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const vars = plainToInstance(EnvironmentVariables, raw, { exposeDefaultValues: true });
  const problems = describe(validateSync(vars, { forbidUnknownValues: false }));

  const admin = [vars.ADMIN_USERNAME, vars.ADMIN_PASSWORD, vars.ADMIN_EMAIL];
  if (admin.some((v) => v !== undefined) && admin.some((v) => v === undefined)) {
    problems.push('ADMIN_USERNAME, ADMIN_PASSWORD and ADMIN_EMAIL must be set together');
  }
  const { PING_INTERVAL_MS: ping, REMOTE_OFFLINE_AFTER_MS: offline } = vars;
  if (typeof ping === 'number' && typeof offline === 'number' && offline <= ping) {
    // Otherwise a healthy remote would be reported offline between two successful pings.
    problems.push('REMOTE_OFFLINE_AFTER_MS must be greater than PING_INTERVAL_MS');
  }
  const remoteNetworks = splitCidrs(vars.REMOTE_ALLOWED_NETWORKS ?? '');
  const metricsNetworks = splitCidrs(vars.METRICS_ALLOWED_NETWORKS ?? '');
  for (const [key, { invalid }] of [['REMOTE_ALLOWED_NETWORKS', remoteNetworks], ['METRICS_ALLOWED_NETWORKS', metricsNetworks]] as const) {
    if (invalid.length) problems.push(`${key}: not CIDR networks: ${invalid.join(', ')}`);
  }
  if (problems.length) throw new ConfigError(problems);

  return {
    http: {
      port: vars.PORT,
      siteUrl: trimTrailing(vars.SITE_URL, '/'),
      trustProxy: parseTrustProxy(vars.TRUST_PROXY),
      idleTimeoutMs: vars.HTTP_IDLE_TIMEOUT_MS,
    },
    metrics: { allowedNetworks: metricsNetworks.list, token: vars.METRICS_TOKEN },
    database: {
      url: vars.DATABASE_URL,
      migrationsRun: vars.MIGRATIONS_RUN,
      poolSize: vars.DATABASE_POOL_SIZE,
      poolTimeoutMs: vars.DATABASE_POOL_TIMEOUT_MS,
    },
    health: { maxEventLoopLagMs: vars.READY_MAX_EVENT_LOOP_LAG_MS },
    limits: {
      remoteRequests: vars.RATE_LIMIT_REMOTE_REQUESTS,
      remoteWindowMs: vars.RATE_LIMIT_REMOTE_WINDOW_MS,
      loginFailuresPerAddress: vars.RATE_LIMIT_LOGIN_FAILURES_PER_ADDRESS,
      loginFailuresPerAccount: vars.RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT,
      inviteFailuresPerAddress: vars.RATE_LIMIT_INVITE_FAILURES_PER_ADDRESS,
      failureWindowMs: vars.RATE_LIMIT_FAILURE_WINDOW_MS,
      postPropsMaxBytes: vars.POST_PROPS_MAX_BYTES,
      userPropsMaxBytes: vars.USER_PROPS_MAX_BYTES,
    },
    redis: {
      url: vars.REDIS_URL,
      queuePrefix: vars.QUEUE_PREFIX,
      sentinel: vars.REDIS_SENTINELS
        ? { sentinels: parseHostPorts(vars.REDIS_SENTINELS), name: vars.REDIS_SENTINEL_NAME, password: vars.REDIS_SENTINEL_PASSWORD }
        : undefined,
    },
    shutdown: { drainMs: vars.SHUTDOWN_DRAIN_MS, timeoutMs: vars.SHUTDOWN_TIMEOUT_MS },
    files: { dir: vars.FILES_DIR, maxFileSize: vars.MAX_FILE_SIZE },
    log: { level: vars.LOG_LEVEL },
    remoteCluster: {
      pingIntervalMs: vars.PING_INTERVAL_MS,
      offlineAfterMs: vars.REMOTE_OFFLINE_AFTER_MS,
      allowedNetworks: remoteNetworks.list,
      tokenOverlapMs: vars.REMOTE_TOKEN_OVERLAP_MS,
      tokenKey: vars.REMOTE_TOKEN_KEY ? Buffer.from(vars.REMOTE_TOKEN_KEY, 'base64') : undefined,
    },
    sync: {
      delayMs: vars.SYNC_DELAY_MS,
      batchPosts: vars.SYNC_BATCH_POSTS,
      concurrency: vars.SYNC_CONCURRENCY,
      perRemoteConcurrency: vars.SYNC_PER_REMOTE_CONCURRENCY,
      sweepIntervalMs: vars.SYNC_SWEEP_INTERVAL_MS,
      postMaxAttempts: vars.SYNC_POST_MAX_ATTEMPTS,
      membershipSync: vars.ENABLE_MEMBERSHIP_SYNC,
      globalUserSync: vars.ENABLE_GLOBAL_USER_SYNC,
      maxClockSkewMs: vars.SYNC_MAX_CLOCK_SKEW_MS,
      consistencyIntervalMs: vars.CONSISTENCY_CHECK_INTERVAL_MS,
      backfillBatchPosts: vars.SYNC_BACKFILL_BATCH,
    },
    trace: { retentionMs: vars.TRACE_RETENTION_HOURS * 3600 * 1000 },
    websocket: {
      sendBufferBytes: vars.WEBSOCKET_SEND_BUFFER_BYTES,
      resumeBufferEvents: vars.WEBSOCKET_RESUME_BUFFER,
      resumeWindowMs: vars.WEBSOCKET_RESUME_WINDOW_MS,
    },
    auth: {
      passwordHashCost: vars.PASSWORD_HASH_COST,
      sessionLengthMs: vars.SESSION_LENGTH_DAYS * 24 * 3600 * 1000,
      bootstrapAdmin: vars.ADMIN_USERNAME
        ? { username: vars.ADMIN_USERNAME, password: vars.ADMIN_PASSWORD!, email: vars.ADMIN_EMAIL! }
        : undefined,
    },
  };
}

export const CONFIG_KEYS: readonly string[] = KEYS;

/** `host:port,[v6]:port` -> [{host, port}] (validated by the schema's pattern). */
function parseHostPorts(list: string): Array<{ host: string; port: number }> {
  return list.split(',').map((item) => {
    const i = item.lastIndexOf(':');
    return { host: item.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(item.slice(i + 1)) };
  });
}
