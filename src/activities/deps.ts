import type pg from 'pg';
import type { SeedvaultConfig } from '../config/schema.js';

/** What every activity may use; built once per worker process. */
export interface ActivityDeps {
  config: SeedvaultConfig;
  pool: pg.Pool;
}
