import type { RedisOptions } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';

/** ioredis options from a redis:// or rediss:// URL (user, password, host, port, /db). */
export function redisOptionsFromUrl(url: string): RedisOptions {
  const u = new URL(url);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname && u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    tls: u.protocol === 'rediss:' ? {} : undefined,
  };
}

/**
 * Options for every Redis client of the server (BullMQ's connections, the general client, the WebSocket bus): from
 * REDIS_URL, or, with Redis Sentinel configured, the sentinels to ask for the current primary (REDIS_URL then only
 * gives the credentials, database and TLS). ioredis follows a failover by itself: it reconnects to the new primary.
 */
export function redisOptions(redis: AppConfig['redis']): RedisOptions {
  const fromUrl = redisOptionsFromUrl(redis.url);
  if (!redis.sentinel) return fromUrl;
  const { host: _host, port: _port, ...rest } = fromUrl;
  return {
    ...rest,
    sentinels: redis.sentinel.sentinels,
    name: redis.sentinel.name,
    sentinelPassword: redis.sentinel.password,
    // A sentinel behind TLS needs it too when the data nodes use it.
    enableTLSForSentinelMode: fromUrl.tls !== undefined,
  };
}
