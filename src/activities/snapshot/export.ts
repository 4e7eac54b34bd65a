import { PassThrough } from 'node:stream';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { mapWithConcurrency } from '../../domain/concurrency.js';
import { dataFileName, type DatabaseSnapshotInfo, type ManifestTable } from '../../domain/manifest.js';
import { versionPrefix } from '../../domain/version.js';
import { InputError } from '../../errors.js';
import { log } from '../../logging.js';
import { exportTable } from '../../parquet/export.js';
import type { ActivityDeps } from '../deps.js';
import { joinDatabaseSnapshot, openDatabaseSnapshot } from './db-snapshot.js';
import { ProgressReporter } from './progress.js';

export interface ExportTablesInput {
  version: string;
  /** Source keys from the config (`ohlcv`, `macro`, ...). */
  sources: string[];
}

export interface ExportTablesResult {
  database: DatabaseSnapshotInfo;
  tables: Record<string, ManifestTable>;
}

/**
 * Streams every table of one snapshot straight into `v<version>/`: COPY (binary) from one
 * exported database snapshot -> Parquet (or csv.gz) -> multipart upload, hashing on the way.
 * Nothing is staged on disk and memory stays flat. A retry starts over from a new
 * database snapshot, so the tables of a version always come from one point in time.
 */
export function exportActivities({ config, pool, storage, temporal }: ActivityDeps) {
  return {
    async exportTables(input: ExportTablesInput): Promise<ExportTablesResult> {
      const ctx = Context.current();
      const sources = input.sources.map((key) => {
        const source = config.sources[key];
        if (!source) throw ApplicationFailure.nonRetryable(`unknown source "${key}" (config sources: ${Object.keys(config.sources).join(', ')})`, 'InputError');
        return source;
      });
      const { format, compression, parallelism } = config.backup;
      const execution = ctx.info.workflowExecution;
      if (!execution) throw ApplicationFailure.nonRetryable('exportTables runs only inside a seedSnapshot workflow', 'InputError');
      const progress = new ProgressReporter(temporal, execution, sources.map((s) => s.table));
      const coordinator = await pool.connect();
      const abort = new AbortController();
      ctx.cancellationSignal.addEventListener('abort', () => abort.abort(ctx.cancellationSignal.reason));
      try {
        const { snapshotId, info } = await openDatabaseSnapshot(coordinator);
        log.info({ version: input.version, snapshot: info.txid_snapshot, lsn: info.wal_lsn }, 'exporting from database snapshot');
        const exported = await mapWithConcurrency(sources, parallelism, async (source) => {
          const client = await pool.connect();
          try {
            await joinDatabaseSnapshot(client, snapshotId);
            const file = dataFileName(source.table, format);
            const body = new PassThrough({ highWaterMark: 1 << 20 });
            const upload = storage.put(`${versionPrefix(input.version)}${file}`, body, {
              contentType: format === 'parquet' ? 'application/vnd.apache.parquet' : 'application/gzip',
            });
            const exporting = exportTable({
              client,
              table: source.table,
              dateColumn: source.date_column,
              format,
              compression,
              out: body,
              signal: abort.signal,
              onProgress: (rows) => progress.update(source.table, rows),
            }).catch((err: unknown) => {
              body.destroy(err as Error);
              throw err;
            });
            // Both settle before we go on: a failed export aborts the multipart upload.
            const [result] = await Promise.all([exporting, upload]);
            progress.finish(source.table, result.rows);
            const table: ManifestTable = {
              file,
              rows: result.rows,
              date_range: result.dateRange,
              size_bytes: result.bytes,
              sha256: result.sha256,
              format,
              compression: format === 'parquet' ? compression : 'gzip',
              columns: result.columns.map((c) => ({ name: c.name, pg_type: c.pgType, parquet_type: c.parquetType, nullable: c.nullable })),
            };
            return [source.table, table] as const;
          } catch (err) {
            abort.abort(err);
            throw err;
          } finally {
            await client.query('rollback').catch(() => {});
            client.release();
          }
        });
        return { database: info, tables: Object.fromEntries(exported) };
      } catch (err) {
        if (err instanceof InputError) throw ApplicationFailure.nonRetryable(err.message, 'InputError');
        throw err;
      } finally {
        await coordinator.query('rollback').catch(() => {});
        coordinator.release();
        await progress.flush();
      }
    },
  };
}
