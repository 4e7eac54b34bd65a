import pg from 'pg';

/**
 * Marks the backup_metadata rows of deleted backups as seed 001's retention expects: status
 * `pruned`, inactive from now (maintenance deletes them 7 days later). Snapshots are keyed by
 * version, file backups by id.
 */
export async function markBackupsPruned(db: pg.Pool | pg.ClientBase, key: 'snapshot_version' | 'backup_name', values: string[]): Promise<void> {
  if (values.length === 0) return;
  await db.query(
    `update backup_metadata set snapshot_status = 'pruned', is_active = false, deactivated_at = now()
     where ${pg.escapeIdentifier(key)} = any($1) and is_active`,
    [values],
  );
}
