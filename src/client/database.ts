import type pg from 'pg';
import type { SeedvaultConfig } from '../config/schema.js';
import { createPool } from '../db/pool.js';
import { errorMessage, ServiceError } from '../errors.js';

/** A short-lived pool for a CLI command; an unreachable server is a one-line ServiceError (exit 3). */
export async function withDatabase<T>(config: SeedvaultConfig, work: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = createPool(config.postgres.url, 2);
  try {
    await pool.query('select 1').catch((err: unknown) => {
      throw new ServiceError(`cannot reach PostgreSQL at ${new URL(config.postgres.url).host}: ${errorMessage(err)}`);
    });
    return await work(pool);
  } finally {
    await pool.end();
  }
}
