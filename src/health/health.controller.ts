import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService, type HealthCheckResult } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { REDIS_CLIENT } from '../redis/redis.module.js';
import { DrainState } from './drain-state.js';
import { EventLoopMonitor } from './event-loop-monitor.js';

const CHECK_TIMEOUT_MS = 2_000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e); });
  });
}

/**
 * For the load balancer: live = the process answers; ready = it is not draining (SIGTERM), PostgreSQL and Redis
 * answer and the event loop has not lately been blocked past READY_MAX_EVENT_LOOP_LAG_MS.
 */
@ApiTags('system')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly dataSource: DataSource,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly loop: EventLoopMonitor,
    private readonly drain: DrainState,
  ) {}

  @Get('live')
  @Header('Cache-Control', 'no-store')
  @ApiOkResponse({ description: 'The process is up' })
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @Header('Cache-Control', 'no-store')
  @ApiOkResponse({ description: 'PostgreSQL and Redis reachable, the event loop prompt' })
  @ApiServiceUnavailableResponse({ description: 'Draining, a dependency is down, or the event loop was blocked lately' })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.draining(),
      () => this.eventLoop(),
      () => this.probe('database', () => this.dataSource.query('SELECT 1')),
      () => this.probe('redis', () => this.redis.ping()),
    ]);
  }

  /** First to go down on SIGTERM, so the balancer stops sending new requests before the replica stops listening. */
  private draining() {
    const session = this.indicators.check('shutdown');
    return this.drain.draining ? session.down({ message: 'draining: this replica is shutting down' }) : session.up();
  }

  private eventLoop() {
    const session = this.indicators.check('event_loop');
    const lag = this.loop.blockedLag();
    return lag === null ? session.up() : session.down({ message: `the event loop was blocked for ${lag} ms lately` });
  }

  private async probe<K extends string>(key: K, fn: () => Promise<unknown>) {
    const session = this.indicators.check(key);
    try {
      await withTimeout(fn(), CHECK_TIMEOUT_MS);
      return session.up();
    } catch (err) {
      return session.down({ message: err instanceof Error ? err.message : String(err) });
    }
  }
}
