// Run by global-setup.js under tsx: applies every migration to the test template database.
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { baseDataSourceOptions } from '../../src/database/typeorm-options.js';

const url = process.argv[2];
if (!url) throw new Error('usage: migrate-template.ts <database url>');
const ds = new DataSource(baseDataSourceOptions(url));
await ds.initialize();
try {
  await ds.runMigrations({ transaction: 'each' });
} finally {
  await ds.destroy();
}
