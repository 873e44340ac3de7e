import { createApp } from './bootstrap/create-app.js';
import { ConfigError, loadConfig } from './config/load-config.js';

/** Longest a graceful shutdown may take before the process gives up on stragglers. */
const SHUTDOWN_DEADLINE_MS = 30_000;

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

  // SIGTERM (the orchestrator) or SIGINT: stop accepting connections, let in-flight requests and
  // running jobs finish, close the PostgreSQL and Redis pools, then exit 0.
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.error(JSON.stringify({ level: 30, time: new Date().toISOString(), msg: `received ${signal}, shutting down` }));
    setTimeout(() => process.exit(1), SHUTDOWN_DEADLINE_MS).unref();
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

void main();
