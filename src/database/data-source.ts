// Entry point for the TypeORM CLI only (npm run migration:*); the app builds its DataSource in DatabaseModule.
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from '../config/load-config.js';
import { baseDataSourceOptions } from './typeorm-options.js';

const config = loadConfig(process.env);

export default new DataSource({
  ...baseDataSourceOptions(config.database.url),
  entities: ['src/**/*.entity.ts'],
});
