import { readdirSync } from 'node:fs';
import type pg from 'pg';
import type { SeedvaultConfig } from '../config/schema.js';
import { MIGRATIONS_DIR, MIGRATIONS_TABLE } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import { green, migrationVerdict, red, skipped, type DoctorCheck } from '../domain/doctor.js';
import { judged, STEP_SECONDS } from './bounded.js';

/** host:port/database of a postgres URL, never its password. */
export function databaseLabel(url: string): string {
  const u = new URL(url);
  return `${u.host}${u.pathname}`;
}

/** The migrations this version ships, as node-pg-migrate names them (file names without .sql). */
export function shippedMigrations(): string[] {
  return readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).map((f) => f.slice(0, -4)).sort();
}

async function appliedMigrations(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ exists: boolean }>(`select to_regclass($1) is not null as exists`, [MIGRATIONS_TABLE]);
  if (!rows[0]!.exists) return [];
  return (await pool.query<{ name: string }>(`select name from ${MIGRATIONS_TABLE} order by run_on, id`)).rows.map((r) => r.name);
}

/** PostgreSQL reachable, and its migrations current. */
export async function postgresChecks(config: SeedvaultConfig): Promise<DoctorCheck[]> {
  const where = databaseLabel(config.postgres.url);
  const pool = createPool(config.postgres.url, 2, (STEP_SECONDS - 1) * 1000);
  try {
    const reach = await judged(
      'PostgreSQL',
      async () => green('postgres', `PostgreSQL ${(await pool.query<{ server_version: string }>('show server_version')).rows[0]!.server_version.split(' ')[0]} at ${where}`),
      (message) => red('postgres', `cannot reach PostgreSQL at ${where}: ${message}`, 'start PostgreSQL, or fix postgres.url (DATABASE_URL)', 'service'),
    );
    if (reach.status === 'red') return [reach, skipped('migrations', 'PostgreSQL is unreachable')];
    const migrations = await judged(
      'PostgreSQL',
      async () => migrationVerdict(await appliedMigrations(pool), shippedMigrations()),
      (message) => red('migrations', `cannot read ${MIGRATIONS_TABLE}: ${message}`, 'run: seedvault migrate'),
    );
    return [reach, migrations];
  } finally {
    await pool.end();
  }
}
