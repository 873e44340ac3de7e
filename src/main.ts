import { drainAndClose } from './bootstrap/graceful-shutdown.js';
import { createApp } from './bootstrap/create-app.js';
import { ConfigError, loadConfig } from './config/load-config.js';
import { DrainState } from './health/drain-state.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const app = await createApp(config);
  await app.listen(config.http.port);

  // SIGTERM (the orchestrator, `npm run cluster`'s roll) or SIGINT: the drain sequence of bootstrap/graceful-shutdown.ts,
  // then exit 0; a shutdown that outlasts SHUTDOWN_DRAIN_MS + SHUTDOWN_TIMEOUT_MS gives up on stragglers and exits 1.
  let stopping = false;
  const log = (msg: string) => console.error(JSON.stringify({ level: 30, time: new Date().toISOString(), msg }));
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`received ${signal}, shutting down`);
    setTimeout(() => process.exit(1), config.shutdown.drainMs + config.shutdown.timeoutMs).unref();
    const drain = app.get(DrainState);
    void drainAndClose(
      {
        markDraining: () => drain.start(),
        close: () => app.close(),
        log,
        wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      },
      config.shutdown.drainMs,
    ).then((ok) => process.exit(ok ? 0 : 1));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

void main();
