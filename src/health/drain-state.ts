import { Injectable } from '@nestjs/common';

/**
 * Whether this replica is draining: set first thing on SIGTERM (bootstrap/graceful-shutdown.ts), so /health/ready
 * answers 503 and every response asks its client to close the connection while the replica still serves what it is
 * sent, until the load balancer has noticed.
 */
@Injectable()
export class DrainState {
  private since: number | undefined;

  get draining(): boolean {
    return this.since !== undefined;
  }

  start(now = Date.now()): void {
    this.since ??= now;
  }
}
