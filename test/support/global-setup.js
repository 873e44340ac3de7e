// Jest global setup (plain JS: Jest loads it outside its module system). Migrates a template database
// once per run; every test instance then clones it with CREATE DATABASE ... TEMPLATE.
import { execFileSync } from 'node:child_process';
import pg from 'pg';

const ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TEMPLATE_DB = process.env.TEST_TEMPLATE_DB ?? 'mmfed_test_template';
const TEST_DB_PREFIX = 'mmfed_t_';

export default async function globalSetup() {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    const stale = await client.query(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`${TEST_DB_PREFIX}%`]);
    for (const { datname } of stale.rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    await client.query(`DROP DATABASE IF EXISTS "${TEMPLATE_DB}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${TEMPLATE_DB}"`);
  } finally {
    await client.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${TEMPLATE_DB}`;
  execFileSync(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'test/support/migrate-template.ts', url.toString()], {
    stdio: 'inherit',
  });
}
