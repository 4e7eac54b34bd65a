import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { restoreInput, startRestore, type RestoreOptions } from '../../src/client/restore-run.js';
import type { SeedvaultConfig } from '../../src/config/schema.js';
import { LATEST_VERSION_KEY } from '../../src/domain/manifest.js';
import { versionPrefix } from '../../src/domain/version.js';
import { LocalStorage } from '../../src/storage/local.js';
import type { Storage } from '../../src/storage/types.js';
import type { SeedRestoreResult } from '../../src/workflows/restore.js';
import { downloadVersion } from './snapshot.js';

export const TABLES = ['usdcop_m5_ohlcv', 'macro_indicators_daily', 'trades_history'] as const;

export async function runRestore(config: SeedvaultConfig, options: RestoreOptions = {}): Promise<SeedRestoreResult> {
  return (await startRestore(config, restoreInput(config, options))).result();
}

/** Row count and an order-independent hash of every row's text, per table: equal digests mean equal contents. */
export async function tableDigests(databaseUrl: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const digests: Record<string, string> = {};
    for (const table of TABLES) {
      const { rows } = await client.query(
        `select count(*) || ':' || coalesce(sum(('x' || left(md5(t::text), 16))::bit(64)::bigint::numeric), 0) as digest from ${pg.escapeIdentifier(table)} t`,
      );
      digests[table] = rows[0].digest;
    }
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

/** A local folder with the bucket layout holding one version as latest (the `local` source). */
export async function localCopy(storage: Storage, version: string, root: string): Promise<void> {
  const dir = await downloadVersion(storage, version);
  const local = new LocalStorage(root);
  for (const name of await readdir(dir)) await local.put(`${versionPrefix(version)}${name}`, createReadStream(join(dir, name)));
  await local.put(LATEST_VERSION_KEY, `${version}\n`);
}
