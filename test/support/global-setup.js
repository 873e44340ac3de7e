// Jest global setup (plain JS: Jest loads it outside its module system). Migrates a template database
// once per run; every test instance then clones it with CREATE DATABASE ... TEMPLATE.
// Names carry the run's start time (base 36), so concurrent runs never touch each other's databases and
// leftovers of crashed runs are dropped once they are an hour old.
import { execFileSync } from 'node:child_process';
import pg from 'pg';

const ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const STALE_AFTER_MS = 60 * 60 * 1000;

export default async function globalSetup() {
  const run = `${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
  const template = `mmfed_t_${run}_tpl`;
  process.env.TEST_RUN_ID = run;
  process.env.TEST_TEMPLATE_DB = template;

  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    const all = await client.query(`SELECT datname FROM pg_database WHERE datname LIKE 'mmfed\\_t\\_%'`);
    for (const { datname } of all.rows) {
      const born = parseInt(datname.split('_')[2], 36);
      if (Number.isFinite(born) && Date.now() - born > STALE_AFTER_MS) {
        await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
      }
    }
    await client.query(`CREATE DATABASE "${template}"`);
  } finally {
    await client.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${template}`;
  execFileSync(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'test/support/migrate-template.ts', url.toString()], {
    stdio: 'inherit',
  });
}
