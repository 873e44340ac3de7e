/**
 * Whatever the run started (child processes, databases, Redis keys) registers how to undo it here; the
 * actions run once, newest first, on normal exit, on an error and on Ctrl-C/SIGTERM.
 */
type Action = { name: string; fn: () => Promise<void> | void };

const actions: Action[] = [];
/** Last-resort synchronous kills for the 'exit' event, when there is no time for anything async. */
const syncKills = new Set<() => void>();
let running: Promise<void> | undefined;
let aborted = false;

/** True once Ctrl-C/SIGTERM arrived: nothing new may start (scenarios, servers) while cleanup runs. */
export function isAborted(): boolean {
  return aborted;
}

export function throwIfAborted(what: string): void {
  if (aborted) throw new Error(`interrupted: not starting ${what}`);
}

export function onCleanup(name: string, fn: () => Promise<void> | void): () => void {
  const action = { name, fn };
  actions.push(action);
  return () => {
    const i = actions.indexOf(action);
    if (i >= 0) actions.splice(i, 1);
  };
}

export function onExitKill(kill: () => void): () => void {
  syncKills.add(kill);
  return () => syncKills.delete(kill);
}

export function runCleanup(): Promise<void> {
  running ??= (async () => {
    while (actions.length) {
      const a = actions.pop()!;
      try {
        await withTimeout(Promise.resolve().then(a.fn), 20_000, `cleanup "${a.name}"`);
      } catch (err) {
        console.error(`[bench] cleanup "${a.name}" failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  })();
  return running;
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${(ms / 1000).toFixed(1)} s: ${what}`)), ms);
    }),
  ]);
}

/** Installs the signal and crash handlers; `main` runs inside them and cleanup always follows. */
export async function runWithCleanup(main: () => Promise<void>): Promise<never> {
  let signalledAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    // Ctrl-C reaches this process twice (from the terminal's process group and relayed by tsx): only a signal
    // that comes well after the first one means "stop cleaning up".
    if (signalledAt && Date.now() - signalledAt < 3_000) return;
    if (signalledAt) {
      console.error(`[bench] ${signal} again: exiting without finishing cleanup`);
      for (const k of syncKills) k();
      process.exit(130);
    }
    signalledAt = Date.now();
    aborted = true;
    console.error(`\n[bench] ${signal}: stopping servers and dropping bench databases...`);
    void runCleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => {
    for (const k of syncKills) k();
  });
  process.on('unhandledRejection', (err) => {
    console.error('[bench] unhandled rejection:', err);
  });
  let code = 0;
  try {
    await main();
  } catch (err) {
    console.error(`\n[bench] FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    code = 1;
  }
  await runCleanup();
  process.exit(code);
}
