import { availableParallelism } from 'node:os';
import { PassThrough } from 'node:stream';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { calendarFor } from '../../config/calendars.js';
import type { SeedvaultConfig, SourceConfig } from '../../config/schema.js';
import { OHLCV_TABLE } from '../../db/ohlcv-bars.js';
import { mapWithConcurrency } from '../../domain/concurrency.js';
import type { ExportOrder } from '../../domain/export-order.js';
import { exportSlots } from '../../domain/export-slots.js';
import type { MarketCalendar } from '../../domain/calendar.js';
import { barCoverage, type SymbolSpan } from '../../domain/coverage.js';
import { dataContentType, dataFileName, type DatabaseSnapshotInfo, type ManifestColumn, type ManifestTable } from '../../domain/manifest.js';
import type { KeyRange } from '../../domain/split.js';
import { versionPrefix } from '../../domain/version.js';
import { InputError, IntegrityError } from '../../errors.js';
import { log } from '../../logging.js';
import type { ExportResult, GroupSpan } from '../../parquet/export.js';
import { exportInThread } from '../../parquet/export-in-thread.js';
import type { Storage } from '../../storage/types.js';
import type { ActivityDeps } from '../deps.js';
import { joinedSnapshot, openDatabaseSnapshot } from '../../db/database-snapshot.js';
import { exportOrders } from './export-order.js';
import { withHeartbeat } from '../heartbeat.js';
import { ProgressReporter } from './progress.js';

export interface ExportTablesInput {
  version: string;
  /** Source keys from the config (`ohlcv`, `macro`, ...). */
  sources: string[];
  /** Read from this exported database snapshot (held open by holdDatabaseSnapshot) instead of opening one. */
  snapshotId?: string;
}

export interface ExportTablesResult {
  database: DatabaseSnapshotInfo;
  tables: Record<string, ManifestTable>;
}

export interface TableJob {
  /** The PostgreSQL URL and the exported database snapshot the table is read from. */
  database: { url: string; snapshotId: string };
  source: SourceConfig;
  version: string;
  /** The object's name in the version folder. */
  file: string;
  /** A part of a split table: only these keys. */
  keyRange?: KeyRange;
  /** What progress is reported under (the table, or the table's part). */
  label: string;
  format: 'parquet' | 'csv.gz';
  compression: 'snappy' | 'gzip' | 'none';
  gzipLevel: number | undefined;
  order: ExportOrder;
  storage: Storage;
  progress: ProgressReporter;
  abort: AbortController;
}

/** The bars' coverage comes from their rows as they stream through the export, not a second scan. */
const BAR_SPANS = { groupColumn: 'symbol', timeColumn: 'time' };

/**
 * One table or part: COPY -> Parquet/csv.gz on a thread of its own -> multipart upload, as one
 * stream with backpressure. Whichever side fails first aborts the other (and every other table
 * of the snapshot), and both settle before this returns. An upload failure is
 * reported as itself, not as the export's abort that follows from it.
 */
export async function exportObject(job: TableJob): Promise<ExportResult> {
  const { source, format, compression, abort } = job;
  const body = new PassThrough({ highWaterMark: 1 << 20 });
  const fail = (err: unknown) => {
    abort.abort(err);
    body.destroy(err as Error);
    throw err;
  };
  const upload = job.storage
    .put(`${versionPrefix(job.version)}${job.file}`, body, { contentType: dataContentType(format) })
    .catch(fail);
  const options = {
    table: source.table,
    dateColumn: source.date_column,
    groupSpans: source.table === OHLCV_TABLE ? BAR_SPANS : undefined,
    format,
    compression,
    gzipLevel: job.gzipLevel,
    order: job.order,
    keyRange: job.keyRange,
  };
  const exporting = exportInThread(
    { connectionString: job.database.url, snapshotId: job.database.snapshotId, options },
    body,
    (rows) => job.progress.update(job.label, rows),
    abort.signal,
  ).catch(async (err: unknown) => {
    // An upload that gives up (a full store, say) stops reading and destroys `body` under the
    // export, which fails (a bare AbortError, or the store's raw error such as a local disk's
    // ENOSPC) before the upload has said why: the upload's classified error wins. Only the
    // upload side destroys `body` before `fail` does, so then the upload is sure to settle.
    if (!abort.signal.aborted && ((err as Error).name === 'AbortError' || body.destroyed)) await upload;
    return fail(err);
  });
  const [exported, uploaded] = await Promise.allSettled([exporting, upload]);
  if (exported.status === 'rejected' || uploaded.status === 'rejected') throw abort.signal.reason;
  job.progress.finish(job.label, exported.value.rows);
  return exported.value;
}

/** The manifest's description of a table's columns. */
export function manifestColumns(result: Pick<ExportResult, 'columns'>): ManifestColumn[] {
  return result.columns.map((c) => ({ name: c.name, pg_type: c.pgType, parquet_type: c.parquetType, nullable: c.nullable }));
}

/** Bars per symbol, as coverage takes them. */
export function symbolSpans(spans: GroupSpan[]): SymbolSpan[] {
  return spans.map((s) => ({ symbol: s.group, first: s.first, last: s.last, bars: s.rows }));
}

async function exportOneTable(job: TableJob, calendarOf: (symbol: string) => MarketCalendar): Promise<ManifestTable> {
  const result = await exportObject(job);
  // Completeness against each symbol's market calendar, of exactly the rows exported.
  const coverage = result.groupSpans && barCoverage(symbolSpans(result.groupSpans), calendarOf);
  return {
    file: job.file,
    rows: result.rows,
    date_range: result.dateRange,
    size_bytes: result.bytes,
    sha256: result.sha256,
    crc32: result.crc32,
    format: job.format,
    compression: job.format === 'parquet' ? job.compression : 'gzip',
    columns: manifestColumns(result),
    ...(coverage && { coverage }),
    ...(result.orderColumns.length > 0 && { order_columns: result.orderColumns }),
  };
}

/** The configured source `key`, or a non-retryable error naming the sources there are. */
export function sourceOf(config: SeedvaultConfig, key: string): SourceConfig {
  const source = config.sources[key];
  if (!source) throw ApplicationFailure.nonRetryable(`unknown source "${key}" (config sources: ${Object.keys(config.sources).join(', ')})`, 'InputError');
  return source;
}

/**
 * Streams every table of one snapshot straight into `v<version>/`, from one exported
 * database snapshot, with up to `backup.parallelism` tables at once. Nothing is staged on
 * disk and memory stays flat. A retry starts over from a new database snapshot, so the
 * tables of a version always come from one point in time.
 */
export function exportActivities({ config, pool, storage, temporal, metrics }: ActivityDeps) {
  return {
    async exportTables(input: ExportTablesInput): Promise<ExportTablesResult> {
      const ctx = Context.current();
      const sources = input.sources.map((key) => sourceOf(config, key));
      const execution = ctx.info.workflowExecution;
      if (!execution) throw ApplicationFailure.nonRetryable('exportTables runs only inside a seedSnapshot workflow', 'InputError');
      const progress = new ProgressReporter(temporal, execution, sources.map((s) => s.table));
      const abort = new AbortController();
      ctx.cancellationSignal.addEventListener('abort', () => abort.abort(ctx.cancellationSignal.reason));
      const coordinator = await pool.connect();
      const running: Promise<unknown>[] = [];
      // Beats on a clock too: PostgreSQL sorts a large table for minutes before COPY sends its first row.
      return withHeartbeat(() => progress.current(), async () => {
        try {
          const { snapshotId, info } = input.snapshotId ? await joinedSnapshot(coordinator, input.snapshotId) : await openDatabaseSnapshot(coordinator);
          const orderOf = await exportOrders(config, storage);
          log.info({ version: input.version, snapshot: info.txid_snapshot, lsn: info.wal_lsn }, 'exporting from database snapshot');
          const exportSource = async (source: SourceConfig) => {
            if (abort.signal.aborted) throw abort.signal.reason;
            const file = dataFileName(source.table, config.backup.format);
            const database = { url: config.postgres.url, snapshotId };
            const job = { database, source, version: input.version, file, label: source.table, ...exportFormat(config), order: orderOf(source.table), storage, progress, abort };
            const table = await exportOneTable(job, (symbol) => calendarFor(config, symbol));
            metrics.tableExported(source.table, table.rows, table.size_bytes);
            return [source.table, table] as const;
          };
          // This activity is one export slot's worth of the worker: its tables share it, as parts would not.
          const atOnce = Math.min(config.backup.parallelism, exportSlots(config.temporal.max_concurrent_exports, availableParallelism()));
          const exported = await mapWithConcurrency(sources, atOnce, (source) => {
            const exporting = exportSource(source);
            running.push(exporting);
            return exporting;
          });
          return { database: info, tables: Object.fromEntries(exported) };
        } catch (err) {
          // The other tables stop on the shared abort; the attempt ends only once they have settled
          // (their threads stopped, their partial uploads discarded), so nothing of it outlives it.
          abort.abort(err);
          await Promise.allSettled(running);
          throw exportFailure(err);
        } finally {
          await coordinator.query('rollback').catch(() => {});
          coordinator.release();
          await progress.flush();
        }
      });
    },
  };
}

/** The configured format of data objects. */
export function exportFormat(config: SeedvaultConfig): Pick<TableJob, 'format' | 'compression' | 'gzipLevel'> {
  const { format, compression, compression_level } = config.backup;
  return { format, compression, gzipLevel: compression_level ?? undefined };
}

/** Bad input and bad data fail the same way on every retry: stop at once. */
export function exportFailure(err: unknown): unknown {
  if (err instanceof InputError || err instanceof IntegrityError) return ApplicationFailure.nonRetryable(err.message, err.name);
  return err;
}
