import type pg from 'pg';
import type { DatabaseSnapshotInfo } from '../../domain/manifest.js';

/**
 * Opens the coordinating transaction of a snapshot and exports its snapshot id, so every
 * table is read, possibly in parallel on other connections, from the same point in time.
 * The id stays valid while this transaction is open.
 */
export async function openDatabaseSnapshot(client: pg.ClientBase): Promise<{ snapshotId: string; info: DatabaseSnapshotInfo }> {
  await client.query('begin isolation level repeatable read read only');
  const { rows } = await client.query<{
    snapshot_id: string;
    txid_snapshot: string;
    wal_lsn: string;
    taken_at: Date;
    server_version: string;
    schema_migration: string | null;
  }>(`select pg_export_snapshot() as snapshot_id,
            txid_current_snapshot()::text as txid_snapshot,
            (case when pg_is_in_recovery() then pg_last_wal_replay_lsn() else pg_current_wal_lsn() end)::text as wal_lsn,
            now() as taken_at,
            current_setting('server_version') as server_version,
            (select max(name) from seedvault_migrations) as schema_migration`);
  const row = rows[0]!;
  return {
    snapshotId: row.snapshot_id,
    info: {
      isolation: 'repeatable read',
      txid_snapshot: row.txid_snapshot,
      wal_lsn: row.wal_lsn,
      taken_at: row.taken_at.toISOString(),
      server_version: row.server_version,
      schema_migration: row.schema_migration,
    },
  };
}

/** Joins a connection to an exported snapshot; it then sees exactly what the coordinator sees. */
export async function joinDatabaseSnapshot(client: pg.ClientBase, snapshotId: string): Promise<void> {
  await client.query('begin isolation level repeatable read read only');
  await client.query(`set transaction snapshot ${client.escapeLiteral(snapshotId)}`);
}
