// npm run setup: creates the database named in DATABASE_URL when it does not exist yet.
// (The server itself applies migrations at start; it does not create databases.)
import pg from 'pg';
import { loadConfig } from '../src/config/load-config.js';

const { database } = loadConfig(process.env);
const target = new URL(database.url);
const name = decodeURIComponent(target.pathname.slice(1));
const adminUrl = new URL(database.url);
adminUrl.pathname = '/postgres';

const client = new pg.Client({ connectionString: adminUrl.toString() });
await client.connect();
try {
  const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (rowCount) {
    console.log(`database ${name} exists`);
  } else {
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    console.log(`created database ${name}`);
  }
} finally {
  await client.end();
}
