/**
 * Runs an action per key with at most one call in flight; requests arriving meanwhile are folded into a single
 * further call made after the current one ends. So a burst of N requests costs two calls, not N, and every
 * request is covered by a call that started after it was made (what a "something changed, schedule a run"
 * signal needs). All requests folded into a call see its outcome; a failure ends the chain for those waiting.
 */
export class Coalescer {
  private readonly running = new Map<string, { again: boolean; done: Promise<void> }>();

  run(key: string, action: () => Promise<void>): Promise<void> {
    const current = this.running.get(key);
    if (current) {
      current.again = true;
      return current.done;
    }
    const state = { again: true, done: Promise.resolve() };
    state.done = (async () => {
      try {
        while (state.again) {
          state.again = false;
          await action();
        }
      } finally {
        this.running.delete(key);
      }
    })();
    this.running.set(key, state);
    return state.done;
  }

  /** Keys with a call in flight (for tests and diagnostics). */
  get size(): number {
    return this.running.size;
  }
}
