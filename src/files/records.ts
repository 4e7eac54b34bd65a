import type pg from 'pg';
import type { SeedvaultConfig } from '../config/schema.js';
import { markBackupsPruned } from '../db/backup-metadata.js';
import { parseBackupId } from '../domain/file-backup-id.js';
import { backupPrefix, fileBackupFacts, type FileBackupMetadata } from '../domain/file-backup-metadata.js';
import type { Storage } from '../storage/types.js';

export interface FileBackupRecord {
  id: string;
  /** in_progress from the claim until the read-back verify passes (completed) or the run gives up (failed). */
  status: 'in_progress' | 'completed' | 'failed';
  /** The stored metadata.json; null before the archive is written, or when a failed write was discarded. */
  metadata: FileBackupMetadata | null;
  workflowId: string | null;
  error?: string;
}

/**
 * Keeps `backup_metadata` (seed 001) in step with one file backup: a row keyed by the backup
 * id, upserted so a retried activity updates it instead of adding one. The row says where the
 * archive is, its size, sha256 and entries; completeness once verified. It stays active while
 * something of the backup is stored (a failed write whose objects were discarded is not).
 */
export async function recordFileBackup(db: pg.Pool, config: SeedvaultConfig, files: Storage, record: FileBackupRecord): Promise<void> {
  const { metadata, status } = record;
  const facts = metadata ? fileBackupFacts(metadata) : null;
  const validation = status === 'completed' ? 'validated' : status === 'failed' ? 'failed' : 'pending';
  await db.query(
    `insert into backup_metadata
       (file_path, storage_location, backup_type, backup_name, snapshot_status, record_count, file_size_bytes, checksum_sha256,
        compression, data_start_date, data_end_date, completeness_pct, validation_status, validated_at, is_active, deactivated_at,
        pipeline_run_id, metadata)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, case when $13 = 'validated' then now() end,
             $14, case when not $14 then now() end, $15, $16)
     on conflict (backup_name) where backup_name is not null do update set
       file_path = excluded.file_path, storage_location = excluded.storage_location, snapshot_status = excluded.snapshot_status,
       record_count = excluded.record_count, file_size_bytes = excluded.file_size_bytes, checksum_sha256 = excluded.checksum_sha256,
       compression = excluded.compression, data_start_date = excluded.data_start_date, data_end_date = excluded.data_end_date,
       completeness_pct = excluded.completeness_pct, validation_status = excluded.validation_status, validated_at = excluded.validated_at,
       is_active = excluded.is_active, deactivated_at = case when excluded.is_active then null else coalesce(backup_metadata.deactivated_at, now()) end,
       pipeline_run_id = excluded.pipeline_run_id, metadata = excluded.metadata`,
    [
      `${files.location}/${backupPrefix(record.id)}${metadata?.archive.file ?? ''}`,
      config.file_backups.local_path ? 'local' : config.storage.type,
      parseBackupId(record.id).type,
      record.id,
      status,
      facts?.entries ?? 0,
      metadata?.size_bytes ?? null,
      metadata?.archive.sha256 ?? null,
      metadata ? (metadata.compressed ? 'gzip' : 'none') : null,
      facts?.data_start ?? null,
      facts?.data_end ?? null,
      status === 'completed' ? facts?.completeness_pct ?? null : null,
      validation,
      status !== 'failed' || metadata !== null,
      record.workflowId,
      JSON.stringify({
        error: record.error ?? null,
        source_path: metadata?.source_path ?? null,
        source_bytes: metadata?.archive.source_bytes ?? null,
        format: metadata?.archive.format ?? null,
        encryption_key_id: metadata?.encryption?.key_id ?? null,
        skipped: metadata?.skipped.length ?? null,
      }),
    ],
  );
}

/** The rows of file backups retention deleted, as snapshots' pruned versions are marked. */
export function recordFileBackupsPruned(db: pg.Pool, ids: string[]): Promise<void> {
  return markBackupsPruned(db, 'backup_name', ids);
}
