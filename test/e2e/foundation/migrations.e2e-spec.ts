import { readdirSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../../migrations/index.js';
import { startInstance, type Instance } from '../../support/instance.js';

describe('schema comes only from migrations', () => {
  let a: Instance;

  beforeAll(async () => {
    a = await startInstance('A');
  });
  afterAll(() => a?.destroy());

  it('has no drift between the entities and the migrated schema', async () => {
    const ds = a.app!.get(DataSource);
    expect(ds.options.synchronize).toBe(false);
    const pending = await ds.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('lists every migration file in migrations/index.ts, in order', () => {
    const files = readdirSync('migrations').filter((f) => /^\d+-\w+\.ts$/.test(f)).sort();
    const classes = MIGRATIONS.map((m) => m.name);
    expect(classes).toEqual(files.map((f) => f.replace(/^(\d+)-(\w+)\.ts$/, '$2$1')));
  });

  it('applied every migration to the instance database', async () => {
    const rows = await a.query<{ name: string }>('SELECT name FROM typeorm_migrations ORDER BY id');
    expect(rows.map((r) => r.name)).toEqual(MIGRATIONS.map((m) => m.name));
  });
});
