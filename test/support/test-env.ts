/** Where the tests find PostgreSQL and Redis; override with the same variables the server uses. */
export const TEST_PG_ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Set by global-setup.js for this run: the migrated template and the run id that prefixes every clone. */
export function templateDb(): string {
  const name = process.env.TEST_TEMPLATE_DB;
  if (!name) throw new Error('TEST_TEMPLATE_DB is not set: run the tests through jest (global-setup.js)');
  return name;
}

export function cloneDbName(suffix: string): string {
  return `mmfed_t_${process.env.TEST_RUN_ID ?? Date.now().toString(36)}_${suffix}`;
}

export function dbUrl(name: string): string {
  const u = new URL(TEST_PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}
