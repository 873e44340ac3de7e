import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { redisOptions } from '../../redis/redis-options.js';
import type { WsEventMessage } from './websocket-event.js';

/**
 * How much of the stream is kept, by age (stream ids are the Redis server's clock): enough for a replica whose reader
 * was cut off for a moment to continue from its last entry, and a bound on Redis memory whatever the entries' size.
 */
const STREAM_KEEP_MS = 15_000;
const READ_BLOCK_MS = 5_000;
const READ_COUNT = 100;

/** One entry: the events one replica rendered in one pass, in order. */
export interface EventBatch {
  events: WsEventMessage[];
}

export type BatchHandler = (batch: EventBatch) => Promise<void>;

/**
 * Fan-out of WebSocket events to every replica of this server through a Redis stream,
 * `<QUEUE_PREFIX>:websocket:events` (so servers sharing a Redis never see each other's events), trimmed to its last
 * STREAM_KEEP_MS. A replica publishes what it caused and delivers only what it reads back from the stream, its own
 * events included: every replica sees every batch exactly once and in the same order, and a reader cut off for a
 * moment (a Redis reconnect) continues from the last entry it read instead of losing what was published meanwhile.
 */
@Injectable()
export class WebSocketBus implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(WebSocketBus.name);
  readonly key: string;
  private readonly writer: Redis;
  /** XREAD BLOCK holds its connection, so reading has one of its own. */
  private readonly reader: Redis;
  private handler: BatchHandler | undefined;
  private lastId = '$';
  /** Time part of the last id this replica added: trimming follows the Redis clock, not ours. */
  private lastAddedMs = 0;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.key = `${config.redis.queuePrefix}:websocket:events`;
    const options = redisOptions(config.redis);
    this.writer = new Redis({ ...options, connectionName: 'websocket-writer' });
    this.reader = new Redis({ ...options, connectionName: 'websocket-reader', maxRetriesPerRequest: null });
  }

  /** Starts reading before the server accepts any connection: from the stream's current end. */
  async onModuleInit(): Promise<void> {
    const last = (await this.writer.xrevrange(this.key, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
    this.lastId = last[0]?.[0] ?? '0-0';
    this.running = true;
    this.loop = this.readLoop();
  }

  onBatch(handler: BatchHandler): void {
    this.handler = handler;
  }

  async publish(events: WsEventMessage[]): Promise<void> {
    if (!events.length) return;
    const payload = JSON.stringify({ events } satisfies EventBatch);
    const minId = String(Math.max(0, this.lastAddedMs - STREAM_KEEP_MS));
    const id = await this.writer.xadd(this.key, 'MINID', '~', minId, '*', 'b', payload);
    this.lastAddedMs = Number(String(id).split('-')[0]) || this.lastAddedMs;
  }

  private async readLoop(): Promise<void> {
    while (this.running) {
      let res: Array<[string, Array<[string, string[]]>]> | null;
      try {
        res = (await this.reader.xread('COUNT', READ_COUNT, 'BLOCK', READ_BLOCK_MS, 'STREAMS', this.key, this.lastId)) as typeof res;
      } catch (err) {
        if (!this.running) return;
        this.logger.warn({ err }, 'reading the WebSocket event stream failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      for (const [, entries] of res ?? []) {
        for (const [id, fields] of entries) {
          this.lastId = id;
          const raw = fields[fields.indexOf('b') + 1];
          let batch: EventBatch;
          try {
            batch = JSON.parse(raw) as EventBatch;
          } catch (err) {
            this.logger.error({ err, id }, 'unreadable WebSocket event batch skipped');
            continue;
          }
          try {
            await this.handler?.(batch);
          } catch (err) {
            this.logger.error({ err, id }, 'delivering a WebSocket event batch failed');
          }
        }
      }
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    // The blocked XREAD returns with an error once its connection is gone; the loop then ends.
    this.reader.disconnect();
    await this.loop?.catch(() => undefined);
    await this.writer.quit().catch(() => this.writer.disconnect());
  }
}
