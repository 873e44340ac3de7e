/** What a graceful shutdown acts on; main.ts passes the application's, the spec its own. */
export interface ShutdownTarget {
  /** Turns /health/ready to 503 and makes responses close their connections (DrainState.start). */
  markDraining(): void;
  /** Nest's app.close(): stops listening, closes WebSockets with 1001, waits for in-flight requests and running jobs (worker.close()), closes the pools. */
  close(): Promise<void>;
  log(msg: string): void;
  /** Resolves after `ms` (a timer; the spec's may resolve at once). */
  wait(ms: number): Promise<void>;
}

/**
 * The drain sequence of a replica behind a load balancer, in this order:
 * 1. not ready: /health/ready answers 503 (a balancer with active checks takes the replica out of its pool) and every
 *    response says `Connection: close`, while everything sent to it is still served;
 * 2. `drainMs` later (the balancer's check interval times its fall count, plus margin) the rest of app.close(): the
 *    listener closes (nginx gets "connection refused" and passes the request to the next replica, whatever its
 *    method, because nothing was sent), in-flight requests and running BullMQ jobs finish, WebSockets are closed
 *    with 1001 "going away" (clients reconnect through the balancer to another replica), the pools close.
 * Resolves true when everything closed, false when `close` failed.
 */
export async function drainAndClose(target: ShutdownTarget, drainMs: number): Promise<boolean> {
  target.markDraining();
  target.log(`draining: not ready, still serving for ${drainMs} ms`);
  if (drainMs > 0) await target.wait(drainMs);
  target.log('closing: no new connections, finishing in-flight requests and jobs');
  try {
    await target.close();
    target.log('closed');
    return true;
  } catch (err) {
    target.log(`shutdown failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    return false;
  }
}
