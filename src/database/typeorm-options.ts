import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations/index.js';

/** Options shared by the app and the migration CLI. The schema only ever comes from migrations/. */
export function baseDataSourceOptions(url: string, poolSize = 20, poolTimeoutMs = 0): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    synchronize: false,
    migrationsRun: false,
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    // connectionTimeoutMillis bounds the wait for a pooled connection (0: forever, for the CLI); a request that
    // cannot get one in time is answered 503 with Retry-After (common/app-error.filter.ts), never left hanging.
    extra: { max: poolSize, connectionTimeoutMillis: poolTimeoutMs },
  };
}
