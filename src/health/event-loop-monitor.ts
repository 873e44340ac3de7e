import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';

/** How often the loop is sampled. */
const SAMPLE_MS = 100;
/** A lag past the threshold keeps the replica "not ready" this long, so a load balancer polling every few seconds sees it. */
export const LAG_MEMORY_MS = 5_000;

/**
 * How late the event loop runs a timer: a replica whose loop was blocked (a runaway computation, a GC storm) cannot
 * answer anyone meanwhile, so /health/ready reports it not ready until the loop has been prompt for LAG_MEMORY_MS and
 * the load balancer sends its traffic elsewhere. The lag itself is exported by prom-client's default metrics
 * (nodejs_eventloop_lag_*).
 */
@Injectable()
export class EventLoopMonitor implements OnModuleDestroy {
  private expected = Date.now() + SAMPLE_MS;
  /** When the last lag past the threshold was seen, and how long it was. */
  private lastBlockedAt = 0;
  private lastBlockedMs = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  private sample(): void {
    const now = Date.now();
    const lag = Math.max(0, now - this.expected);
    this.expected = now + SAMPLE_MS;
    if (lag > this.config.health.maxEventLoopLagMs) {
      this.lastBlockedAt = now;
      this.lastBlockedMs = lag;
    }
  }

  /** The lag that makes this replica not ready now, or null when the loop has been prompt lately. */
  blockedLag(now = Date.now()): number | null {
    // Also counts a block still going on when this runs before the timer had its turn.
    const current = Math.max(0, now - this.expected);
    if (current > this.config.health.maxEventLoopLagMs) return current;
    return now - this.lastBlockedAt < LAG_MEMORY_MS ? this.lastBlockedMs : null;
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}
