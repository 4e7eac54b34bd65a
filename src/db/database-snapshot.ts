import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import type { DatabaseSnapshotInfo } from '../domain/manifest.js';
import { SNAPSHOT_LOST } from '../domain/split.js';

/**
 * Opens the coordinating transaction of a snapshot and exports its snapshot id, so every
 * table is read, possibly in parallel on other connections, from the same point in time.
 * The id stays valid while this transaction is open.
 */
export async function openDatabaseSnapshot(client: pg.ClientBase): Promise<{ snapshotId: string; info: DatabaseSnapshotInfo }> {
  await client.query('begin isolation level repeatable read read only');
  return { snapshotId: (await client.query<{ id: string }>('select pg_export_snapshot() as id')).rows[0]!.id, info: await snapshotInfo(client) };
}

/** Joins `client` to an exported snapshot and describes it as openDatabaseSnapshot does. */
export async function joinedSnapshot(client: pg.ClientBase, snapshotId: string): Promise<{ snapshotId: string; info: DatabaseSnapshotInfo }> {
  await joinDatabaseSnapshot(client, snapshotId);
  return { snapshotId, info: await snapshotInfo(client) };
}

/**
 * Joins a connection to an exported snapshot; it then sees exactly what the coordinator sees.
 * A snapshot whose holder has ended fails as SNAPSHOT_LOST, not retryable: a retry cannot revive it.
 */
export async function joinDatabaseSnapshot(client: pg.ClientBase, snapshotId: string): Promise<void> {
  await client.query('begin isolation level repeatable read read only');
  try {
    await client.query(`set transaction snapshot ${client.escapeLiteral(snapshotId)}`);
  } catch (err) {
    // 22023 invalid_parameter_value: "invalid snapshot identifier", the exporting transaction is over.
    if ((err as { code?: string }).code === '22023') {
      throw ApplicationFailure.nonRetryable(`database snapshot ${snapshotId} is gone (its holding transaction ended): ${(err as Error).message}`, SNAPSHOT_LOST);
    }
    throw err;
  }
}

async function snapshotInfo(client: pg.ClientBase): Promise<DatabaseSnapshotInfo> {
  const { rows } = await client.query<{
    txid_snapshot: string;
    wal_lsn: string;
    taken_at: Date;
    server_version: string;
    schema_migration: string | null;
  }>(`select txid_current_snapshot()::text as txid_snapshot,
            (case when pg_is_in_recovery() then pg_last_wal_replay_lsn() else pg_current_wal_lsn() end)::text as wal_lsn,
            now() as taken_at,
            current_setting('server_version') as server_version,
            (select max(name) from seedvault_migrations) as schema_migration`);
  const row = rows[0]!;
  return {
    isolation: 'repeatable read',
    txid_snapshot: row.txid_snapshot,
    wal_lsn: row.wal_lsn,
    taken_at: row.taken_at.toISOString(),
    server_version: row.server_version,
    schema_migration: row.schema_migration,
  };
}
