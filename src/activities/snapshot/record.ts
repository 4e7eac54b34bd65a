import type pg from 'pg';
import { markBackupsPruned } from '../../db/backup-metadata.js';
import { inTransaction } from '../../db/pool.js';
import { barQualityScore } from '../../domain/coverage.js';
import type { Manifest, ManifestTable } from '../../domain/manifest.js';
import { versionPrefix } from '../../domain/version.js';
import { notifySignalWaiters } from '../../quality/notify.js';
import type { ActivityDeps } from '../deps.js';

export type RecordedStatus = 'in_progress' | 'completed' | 'failed';

export interface RecordSnapshotInput {
  version: string;
  status: RecordedStatus;
  workflowId: string;
  sources: string[];
  manifest?: Manifest;
  error?: string;
}

/**
 * backup_metadata's scores of one exported table. The bars table: completeness against the
 * market calendars (from the manifest's coverage) and quality = expected bars present and not
 * flagged in data_anomalies within the snapshot's days. Other tables: complete by
 * construction (the file holds every row of the database snapshot); no quality checks exist.
 */
async function scoresOf(client: pg.ClientBase, entry: ManifestTable): Promise<{ completeness: number | null; quality: number | null }> {
  if (!entry.coverage) return { completeness: 100, quality: null };
  const [from, to] = entry.date_range ?? ['infinity', '-infinity'];
  const { rows } = await client.query<{ n: string }>(
    `select count(distinct (symbol, anomaly_time))::text as n from data_anomalies
     where anomaly_time >= $1::date and anomaly_time < $2::date + 1`,
    [from, to],
  );
  return { completeness: entry.coverage.completeness_pct, quality: barQualityScore(entry.coverage, Number(rows[0]!.n)) };
}

/**
 * Keeps `backup_metadata` (seed 001) in step with the bucket: one row per table and
 * version, upserted so retries never duplicate; a completed snapshot also raises a
 * BACKUP_READY ready signal in the same transaction.
 */
export function recordActivities({ config, pool, storage, temporal }: ActivityDeps) {
  return {
    async recordSnapshot(input: RecordSnapshotInput): Promise<void> {
      await inTransaction(pool, async (client) => {
        for (const key of input.sources) {
          const table = config.sources[key]?.table ?? key;
          const entry = input.manifest?.tables[table];
          const scores = entry && input.status === 'completed' ? await scoresOf(client, entry) : { completeness: null, quality: null };
          await client.query(
            `insert into backup_metadata
               (file_path, storage_location, table_name, snapshot_version, snapshot_status, record_count, file_size_bytes,
                checksum_sha256, compression, data_start_date, data_end_date, completeness_pct, validation_status,
                validated_at, pipeline_run_id, metadata, quality_score)
             values ($1, $2, $3, $4, $5, coalesce($6, 0), $7, $8, $9, $10, $11, $12, $13,
                     case when $13 = 'validated' then now() end, $14, $15, $16)
             on conflict (snapshot_version, table_name) where snapshot_version is not null do update set
               snapshot_status = excluded.snapshot_status, record_count = excluded.record_count,
               file_size_bytes = excluded.file_size_bytes, checksum_sha256 = excluded.checksum_sha256,
               compression = excluded.compression, data_start_date = excluded.data_start_date,
               data_end_date = excluded.data_end_date, completeness_pct = excluded.completeness_pct,
               validation_status = excluded.validation_status, validated_at = excluded.validated_at,
               pipeline_run_id = excluded.pipeline_run_id, metadata = excluded.metadata, quality_score = excluded.quality_score`,
            [
              `${storage.location}/${versionPrefix(input.version)}${entry?.file ?? table}`,
              config.storage.type,
              table,
              input.version,
              input.status,
              entry?.rows ?? null,
              entry?.size_bytes ?? null,
              entry?.sha256 ?? null,
              entry?.compression ?? null,
              entry?.date_range?.[0] ?? null,
              entry?.date_range?.[1] ?? null,
              scores.completeness,
              input.status === 'completed' ? 'validated' : input.status === 'failed' ? 'failed' : 'pending',
              input.workflowId,
              JSON.stringify({ error: input.error ?? null, columns: entry?.columns ?? null, coverage: entry?.coverage ?? null }),
              scores.quality,
            ],
          );
        }
        if (input.status === 'completed' && input.manifest) {
          const rows = Object.values(input.manifest.tables).reduce((sum, t) => sum + t.rows, 0);
          await client.query(
            `insert into ready_signals (pipeline_run_id, signal_type, status, records_available, completeness_pct, metadata)
             select $1, 'BACKUP_READY', 'completed', $2, 100, $3
             where not exists (select 1 from ready_signals where pipeline_run_id = $1 and signal_type = 'BACKUP_READY')`,
            [input.workflowId, rows, JSON.stringify({ version: input.version, location: storage.location })],
          );
        }
      });
      // Wake `signals wait BACKUP_READY` (issue 7); a missed wake is caught by the waiter's re-check.
      if (input.status === 'completed') await notifySignalWaiters(temporal, config.temporal.task_queue, ['BACKUP_READY']).catch(() => {});
    },

    /** Marks the rows of pruned versions inactive, as seed 001's retention expects. */
    async recordPruned(input: { versions: string[] }): Promise<void> {
      await markBackupsPruned(pool, 'snapshot_version', input.versions);
    },
  };
}
