import { createHash } from 'node:crypto';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../../migrations/index.js';
import { RemoteTokenHashes1796410909583 } from '../../../migrations/1796410909583-RemoteTokenHashes.js';
import { baseDataSourceOptions } from '../../../src/database/typeorm-options.js';
import { dropDatabase, queryDb } from '../../support/databases.js';
import { cloneDbName, dbUrl, TEST_PG_ADMIN_URL } from '../../support/test-env.js';

/**
 * Remote clusters stored before tokens were hashed keep working: the migration replaces each clear token with its
 * SHA-256, the hash the verifier compares.
 */
describe('migration RemoteTokenHashes', () => {
  const name = cloneDbName('tokenhash');
  const url = dbUrl(name);

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: TEST_PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
  });
  afterAll(() => dropDatabase(name));

  async function migrate(migrations: typeof MIGRATIONS): Promise<void> {
    const ds = new DataSource({ ...baseDataSourceOptions(url, 2), migrations });
    await ds.initialize();
    try {
      await ds.runMigrations({ transaction: 'each' });
    } finally {
      await ds.destroy();
    }
  }

  it('hashes the tokens of existing rows', async () => {
    const at = MIGRATIONS.indexOf(RemoteTokenHashes1796410909583);
    expect(at).toBeGreaterThan(0);
    await migrate(MIGRATIONS.slice(0, at));
    const insert = `INSERT INTO remote_clusters (remote_id, name, display_name, site_url, create_at, delete_at, last_ping_at,
                      last_global_user_sync_at, token, remote_token, creator_id)
                    VALUES ($1, $2, $2, $3, 1, 0, 0, 0, $4, $5, 'creatorcreatorcreatorcreat')`;
    await queryDb(url, insert, ['tewhd6bhj9buofu8fbiqnbfixg', 'peer-one', 'http://127.0.0.1:9/one', 'plain-token-of-peer-one', 'ours-for-peer-one']);
    await queryDb(url, insert, ['gpgt4tobrxes9953tho4qxdaa5', 'peer-two', 'pending_x', 'plain-invite-token', '']);

    await migrate(MIGRATIONS);
    const rows = await queryDb<{ remote_id: string; token_hash: string; remote_token: string }>(url, 'SELECT remote_id, token_hash, remote_token FROM remote_clusters ORDER BY name');
    const sha256 = (t: string) => createHash('sha256').update(t, 'utf8').digest('hex');
    expect(rows).toEqual([
      { remote_id: 'tewhd6bhj9buofu8fbiqnbfixg', token_hash: sha256('plain-token-of-peer-one'), remote_token: 'ours-for-peer-one' },
      { remote_id: 'gpgt4tobrxes9953tho4qxdaa5', token_hash: sha256('plain-invite-token'), remote_token: '' },
    ]);
    const columns = await queryDb<{ column_name: string }>(url, `SELECT column_name FROM information_schema.columns WHERE table_name = 'remote_clusters' AND column_name = 'token'`);
    expect(columns).toEqual([]);
  });
});
