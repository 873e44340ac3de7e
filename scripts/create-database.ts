// npm run setup: creates the database named in DATABASE_URL when it does not exist yet.
// (The server itself applies migrations at start; it does not create databases.)
import { loadConfig } from '../src/config/load-config.js';
import { ensureDatabase } from './cluster-supervisor.js';

const { database } = loadConfig(process.env);
const name = decodeURIComponent(new URL(database.url).pathname.slice(1));
console.log((await ensureDatabase(database.url)) ? `created database ${name}` : `database ${name} exists`);
