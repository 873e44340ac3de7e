/** Where the tests find PostgreSQL and Redis; override with the same variables the server uses. */
export const TEST_PG_ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEMPLATE_DB = process.env.TEST_TEMPLATE_DB ?? 'mmfed_test_template';
export const TEST_DB_PREFIX = 'mmfed_t_';

export function dbUrl(name: string): string {
  const u = new URL(TEST_PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}
