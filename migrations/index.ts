import type { MigrationInterface } from 'typeorm';
import { Init1795645935590 } from './1795645935590-Init.js';

/** Every migration, oldest first. `npm run migration:generate` appends here; a test checks none is missing. */
export const MIGRATIONS: Array<new () => MigrationInterface> = [
  Init1795645935590,
];
