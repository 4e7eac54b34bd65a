import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { restoreInput, startRestore, type RestoreOptions } from '../../src/client/restore-run.js';
import type { SeedvaultConfig } from '../../src/config/schema.js';
import { LATEST_VERSION_KEY } from '../../src/domain/manifest.js';
import { versionPrefix } from '../../src/domain/version.js';
import { LocalStorage } from '../../src/storage/local.js';
import type { Storage } from '../../src/storage/types.js';
import type { SeedRestoreResult } from '../../src/workflows/restore.js';
import { withDownloadedVersion } from './snapshot.js';

export const TABLES = ['usdcop_m5_ohlcv', 'macro_indicators_daily', 'trades_history'] as const;

export async function runRestore(config: SeedvaultConfig, options: RestoreOptions = {}): Promise<SeedRestoreResult> {
  return (await startRestore(config, restoreInput(config, options))).result();
}

/**
 * Row count and an order-independent hash of every row's text, per table: equal digests mean
 * equal contents. All three in one snapshot, taken once they are locked (a swap under way
 * commits first), so a restore committing meanwhile shows all old or all new tables.
 */
export async function tableDigests(databaseUrl: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await client.query(`LOCK TABLE ${TABLES.map((t) => pg.escapeIdentifier(t)).join(', ')} IN ACCESS SHARE MODE`);
    const digests: Record<string, string> = {};
    for (const table of TABLES) {
      const { rows } = await client.query(
        `select count(*) || ':' || coalesce(sum(('x' || left(md5(t::text), 16))::bit(64)::bigint::numeric), 0) as digest from ${pg.escapeIdentifier(table)} t`,
      );
      digests[table] = rows[0].digest;
    }
    await client.query('COMMIT');
    return digests;
  } finally {
    await client.end();
  }
}

export async function sql(databaseUrl: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

/** A connection that holds a lock until released; a crash of the server ends it quietly. */
export async function holdLock(url: string, statement: string): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  await client.query('BEGIN');
  await client.query(statement);
  return { release: () => client.query('COMMIT').then(() => client.end()).catch(() => client.end().catch(() => {})) };
}

/** Polls `query` (one row with an integer column n) until n > 0; throws naming `what` after timeoutMs. */
export async function waitForSql(url: string, query: string, values: unknown[], what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await sql(url, query, values)).rows[0].n > 0) return;
    await sleep(50);
  }
  throw new Error(`${what} never happened within ${timeoutMs / 1000} s`);
}

/**
 * Waits until a backend of this database waits for a lock on `relation` (a regclass text)
 * and, given `statement`, runs a statement starting with it (relation oids repeat across databases).
 */
export function waitForLockWaiter(url: string, relation: string, statement = ''): Promise<void> {
  return waitForSql(
    url,
    `select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where not l.granted and l.relation = to_regclass($1) and a.datname = current_database() and a.query like $2 || '%'`,
    [relation, statement],
    `a wait for a lock on ${relation}${statement ? ` by ${statement}...` : ''}`,
  );
}

/** A local folder with the bucket layout holding one version as latest (the `local` source). */
export async function localCopy(storage: Storage, version: string, root: string): Promise<void> {
  const local = new LocalStorage(root);
  await withDownloadedVersion(storage, version, async (dir) => {
    for (const name of await readdir(dir)) await local.put(`${versionPrefix(version)}${name}`, createReadStream(join(dir, name)));
  });
  await local.put(LATEST_VERSION_KEY, `${version}\n`);
}
