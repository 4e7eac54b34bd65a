import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { log } from '../logging.js';

/** The repo's migrations folder, found from the compiled file (dist/src/db/migrate.js). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations', import.meta.url));

/** Where node-pg-migrate records the applied migrations. */
export const MIGRATIONS_TABLE = 'seedvault_migrations';

/**
 * Applies every pending migration under an advisory lock (a second process waits for it,
 * then finds nothing left to apply) and returns the names applied; an up-to-date database
 * returns [].
 */
export async function migrate(databaseUrl: string): Promise<string[]> {
  // Loaded here: every CLI command reaches this module through the stack's status, few migrate.
  const { runner } = await import('node-pg-migrate');
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: MIGRATIONS_TABLE,
    checkOrder: true,
    singleTransaction: true,
    advisoryLockMode: 'wait',
    logger: { info: (m) => log.debug(m), warn: (m) => log.warn(m), error: (m) => log.error(m), debug: () => {} },
  });
  return applied.map((m) => m.name);
}

/** Every migration's name (its file name without `.sql`), in order. */
export function migrationNames(): string[] {
  return readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).map((f) => f.slice(0, -'.sql'.length)).sort();
}

/** The migrations recorded as applied, in the order they ran (no table: none). */
export async function appliedMigrations(pool: pg.Pool): Promise<string[]> {
  try {
    return (await pool.query<{ name: string }>(`select name from ${MIGRATIONS_TABLE} order by run_on, id`)).rows.map((r) => r.name);
  } catch (err) {
    if ((err as { code?: string }).code !== '42P01') throw err; // undefined_table: a new database
    return [];
  }
}

/** The migrations `migrate` would apply, read without changing anything (no table: all of them). */
export async function pendingMigrations(pool: pg.Pool): Promise<string[]> {
  const done = new Set(await appliedMigrations(pool));
  return migrationNames().filter((name) => !done.has(name));
}
