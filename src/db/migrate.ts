import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import { log } from '../logging.js';

/** The repo's migrations folder, found from the compiled file (dist/src/db/migrate.js). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations', import.meta.url));

/** Where node-pg-migrate records the applied migrations. */
export const MIGRATIONS_TABLE = 'seedvault_migrations';

/**
 * Applies every pending migration under an advisory lock (safe when several workers start
 * at once) and returns the names applied; an up-to-date database returns [].
 */
export async function migrate(databaseUrl: string): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: MIGRATIONS_TABLE,
    checkOrder: true,
    singleTransaction: true,
    logger: { info: (m) => log.debug(m), warn: (m) => log.warn(m), error: (m) => log.error(m), debug: () => {} },
  });
  return applied.map((m) => m.name);
}
