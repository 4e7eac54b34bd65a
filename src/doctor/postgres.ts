import type pg from 'pg';
import type { SeedvaultConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { appliedMigrations, migrationNames, MIGRATIONS_TABLE } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import { channelDeliveries } from '../alerts/deliveries.js';
import { alertChannelVerdict, green, migrationVerdict, red, skipped, type DoctorCheck } from '../domain/doctor.js';
import { bounded, judged, STEP_SECONDS } from './bounded.js';

/** host:port/database of a postgres URL, never its password. */
export function databaseLabel(url: string): string {
  const u = new URL(url);
  return `${u.host}${u.pathname}`;
}

/** Every alert channel's line (one line when none is configured); with a string instead of a pool, why the history is unknown. */
async function alertChecks(config: SeedvaultConfig, env: NodeJS.ProcessEnv, source: pg.Pool | string): Promise<DoctorCheck[]> {
  const channels = Object.entries(config.alerts.channels);
  if (channels.length === 0) return [green('alerts', 'no channels configured (alerts.channels): failures are only logged')];
  const history = typeof source === 'string' ? source : await channelDeliveries(source, channels.map(([name]) => name));
  return channels.map(([channel, c]) =>
    alertChannelVerdict({ channel, urlEnv: c.url_env, urlSet: Boolean(env[c.url_env]), history: typeof history === 'string' ? history : history.get(channel)! }),
  );
}

/** PostgreSQL reachable, its migrations current; the alert channels and their recent deliveries. */
export async function postgresChecks(config: SeedvaultConfig, env: NodeJS.ProcessEnv): Promise<{ database: DoctorCheck[]; alerts: DoctorCheck[] }> {
  const where = databaseLabel(config.postgres.url);
  const pool = createPool(config.postgres.url, 2, (STEP_SECONDS - 1) * 1000);
  try {
    const reach = await judged(
      'PostgreSQL',
      async () => green('postgres', `PostgreSQL ${(await pool.query<{ server_version: string }>('show server_version')).rows[0]!.server_version.split(' ')[0]} at ${where}`),
      (message) => red('postgres', `cannot reach PostgreSQL at ${where}: ${message}`, 'start PostgreSQL, or fix postgres.url (DATABASE_URL)', 'service'),
    );
    if (reach.status === 'red') return { database: [reach, skipped('migrations', 'PostgreSQL is unreachable')], alerts: await alertChecks(config, env, 'PostgreSQL is unreachable') };
    const migrations = await judged(
      'PostgreSQL',
      async () => migrationVerdict(await appliedMigrations(pool), migrationNames()),
      (message) => red('migrations', `cannot read ${MIGRATIONS_TABLE}: ${message}`, 'run: seedvault setup (or: seedvault migrate)'),
    );
    const alerts = await bounded('PostgreSQL', () => alertChecks(config, env, pool)).catch((err: unknown) =>
      alertChecks(config, env, `cannot read alert_deliveries (${errorMessage(err)})`),
    );
    return { database: [reach, migrations], alerts };
  } finally {
    await pool.end();
  }
}
