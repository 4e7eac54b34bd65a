import type { Client } from '@temporalio/client';
import type { SeedvaultConfig, StoreConfig } from '../config/schema.js';
import { migrate, migrationNames, pendingMigrations } from '../db/migrate.js';
import { createStorage } from '../storage/index.js';
import { connectClient } from '../temporal/connection.js';
import { ensureSearchAttributes, missingSearchAttributes } from '../temporal/ensure-search-attributes.js';
import { applySchedules, describeSchedules, retiredSchedules } from '../temporal/schedules.js';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
import { withDatabase } from './database.js';

export type SetupKind = 'migration' | 'bucket' | 'search attribute' | 'schedule';

/**
 * What setup found or did for one thing. Applying: `created` (a migration applied, the
 * bucket or a schedule created, a search attribute registered), `updated` (a schedule set to
 * the config), `deleted` (a schedule the config turned off: a file-backup type, the deep verify, the analytics refresh), `ok` (in place,
 * unchanged). Checking: `ok` (exists; its content is not compared), `missing` (setup would create it) or `retired` (setup would delete it).
 */
export type SetupState = 'ok' | 'created' | 'updated' | 'deleted' | 'missing' | 'retired';

export interface SetupItem {
  kind: SetupKind;
  name: string;
  state: SetupState;
}

/**
 * Makes a deployment ready to run, idempotently: applies the migrations, creates the bucket,
 * registers the search attributes and creates or updates every schedule the config asks
 * for. Safe on every start and from several processes at once: applying runs under one
 * advisory lock, so a racing setup waits and then finds everything in place (Temporal accepts
 * a search attribute registered twice, so only the lock makes "created" mean this run). With
 * `check`, changes nothing and reports what is missing.
 */
export async function runSetup(config: SeedvaultConfig, opts: { check?: boolean } = {}): Promise<SetupItem[]> {
  if (opts.check) return setupSteps(config, true);
  return withDatabase(config, async (pool) => {
    const lock = await pool.connect();
    try {
      await lock.query(`select pg_advisory_lock(hashtext('seedvault setup'))`);
      return await setupSteps(config, false);
    } finally {
      // Ending the session releases the lock even when unlocking fails.
      lock.release(true);
    }
  });
}

async function setupSteps(config: SeedvaultConfig, check: boolean): Promise<SetupItem[]> {
  const items = [...(await setupDatabase(config, check)), await setupBucket(config.storage, check)];
  if (config.storage.mirror) items.push(await setupBucket(config.storage.mirror, check));
  const client = await connectClient(config);
  try {
    return [...items, ...(await setupSearchAttributes(client, config, check)), ...(await setupSchedules(client, config, check))];
  } finally {
    await client.connection.close();
  }
}

/** The items setup --check reports as not in place. */
export function notInPlace(items: SetupItem[]): SetupItem[] {
  return items.filter((i) => i.state === 'missing' || i.state === 'retired');
}

async function setupDatabase(config: SeedvaultConfig, check: boolean): Promise<SetupItem[]> {
  // Reading first also turns an unreachable server into a one-line ServiceError.
  const pending = new Set(await withDatabase(config, pendingMigrations));
  const applied = new Set(check || pending.size === 0 ? [] : await migrate(config.postgres.url));
  // A pending migration this process did not apply was applied by a racing one.
  const state = (name: string): SetupState => (check && pending.has(name) ? 'missing' : applied.has(name) ? 'created' : 'ok');
  return migrationNames().map((name) => ({ kind: 'migration', name, state: state(name) }));
}

async function setupBucket(store: StoreConfig, check: boolean): Promise<SetupItem> {
  const storage = createStorage(store);
  const created = check ? false : await storage.createBucket();
  const state: SetupState = created ? 'created' : check && !(await storage.bucketExists()) ? 'missing' : 'ok';
  return { kind: 'bucket', name: storage.location, state };
}

async function setupSearchAttributes(client: Client, config: SeedvaultConfig, check: boolean): Promise<SetupItem[]> {
  const { namespace } = config.temporal;
  const changed = new Set(check ? await missingSearchAttributes(client.connection, namespace) : await ensureSearchAttributes(client.connection, namespace));
  return ALL_SEARCH_ATTRIBUTES.map(({ name }) => ({ kind: 'search attribute', name, state: changed.has(name) ? (check ? 'missing' : 'created') : 'ok' }));
}

async function setupSchedules(client: Client, config: SeedvaultConfig, check: boolean): Promise<SetupItem[]> {
  if (!check) {
    return (await applySchedules(client, config)).map(({ scheduleId, action }) => ({ kind: 'schedule', name: scheduleId, state: action === 'unchanged' ? 'ok' : action }));
  }
  const described = await describeSchedules(client, config);
  return [
    ...described.map(({ scheduleId, description }): SetupItem => ({ kind: 'schedule', name: scheduleId, state: description ? 'ok' : 'missing' })),
    ...(await retiredSchedules(client, config)).map((name): SetupItem => ({ kind: 'schedule', name, state: 'retired' })),
  ];
}
