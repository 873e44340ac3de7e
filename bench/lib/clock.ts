import { performance } from 'node:perf_hooks';

/** Epoch milliseconds with sub-millisecond resolution: every timestamp the harness takes uses this one clock. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
