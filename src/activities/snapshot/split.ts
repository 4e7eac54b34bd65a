/**
 * Big tables fanned out over workers (backup.split_rows): one activity holds the exported
 * database snapshot open and plans each big table's key ranges in it; each range is exported
 * by its own activity, on whichever worker takes it, from that same snapshot.
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import pg from 'pg';
import { calendarFor } from '../../config/calendars.js';
import { barCoverage, type SymbolSpan } from '../../domain/coverage.js';
import { partFileName, type DatabaseSnapshotInfo, type ManifestColumn, type ManifestPart, type ManifestTable } from '../../domain/manifest.js';
import { keyRanges, mergedDateRange, mergedSpans, partCount, partsDigestInput, SNAPSHOT_HELD_SIGNAL, type KeyRange } from '../../domain/split.js';
import { log } from '../../logging.js';
import { describeTable, type TableLayout } from '../../parquet/table-catalog.js';
import type { ActivityDeps } from '../deps.js';
import { withHeartbeat } from '../heartbeat.js';
import { joinDatabaseSnapshot, openDatabaseSnapshot } from '../../db/database-snapshot.js';
import { exportFailure, exportFormat, exportObject, manifestColumns, sourceOf, symbolSpans } from './export.js';
import { exportOrders, newestEntries } from './export-order.js';
import { ProgressReporter } from './progress.js';

/** What the holder signals once the snapshot is open and the ranges are planned. */
export interface HeldSnapshot {
  /** The workflow's attempt at the export this snapshot serves (a later one ignores an earlier holder). */
  round: number;
  snapshotId: string;
  database: DatabaseSnapshotInfo;
  /**
   * Per split source key: the columns the rows are sorted by and the ranges bound (the key's,
   * in export order; the field kept its name for runs in flight), and the ranges, in that
   * order (two or more).
   */
  split: Record<string, { keyColumns: string[]; ranges: KeyRange[] }>;
}

export interface ExportPartInput {
  version: string;
  source: string;
  snapshotId: string;
  /** From 0, in export order. */
  index: number;
  count: number;
  range: KeyRange;
}

/** One exported part: its manifest entry, and what the table's entry is assembled from. */
export interface ExportedPart {
  part: ManifestPart;
  columns: ManifestColumn[];
  spans: SymbolSpan[] | null;
}

/** Keys sampled to place the part bounds: bounds within ~1% of equal parts, read in well under a second. */
const SAMPLE_ROWS = 20_000;

/**
 * The planner's row count of the table (pg_class.reltuples): read without locking the table,
 * so a lock held on it never stalls the decision. A table never analysed (-1) counts as 0 and
 * is exported whole; autovacuum analyses any table that grew large.
 */
async function estimatedRows(client: pg.ClientBase, layout: TableLayout): Promise<number> {
  const { rows } = await client.query<{ estimate: number }>(`SELECT reltuples::float8 AS estimate FROM pg_class WHERE oid = $1::regclass`, [layout.sql]);
  return Math.max(0, rows[0]?.estimate ?? 0);
}

/**
 * The key ranges of one table in the snapshot `client` reads, over its order columns: about
 * estimate/split_rows parts.
 * The latest version's bounds are kept while they still give that many parts, so parts of
 * unchanged rows stay byte-identical even after the table was rewritten (restored, clustered);
 * otherwise the bounds are quantiles of a page sample of the key.
 */
async function planRanges(client: pg.ClientBase, layout: TableLayout, splitRows: number, previous: KeyRange[] | null): Promise<KeyRange[]> {
  if (layout.orderColumns.length === 0) return [{ from: null, to: null }];
  const estimate = await estimatedRows(client, layout);
  const parts = partCount(estimate, splitRows);
  if (parts === 1) return [{ from: null, to: null }];
  if (previous?.length === parts) return previous;
  const percent = Math.min(100, (100 * SAMPLE_ROWS) / estimate);
  const key = layout.orderColumns.map((name) => pg.escapeIdentifier(name));
  // REPEATABLE fixes the sample: the same pages give the same bounds.
  const { rows } = await client.query<string[]>({
    text: `SELECT ${key.map((k) => `${k}::text`).join(', ')} FROM ${layout.sql} TABLESAMPLE SYSTEM ($1) REPEATABLE (0) ORDER BY ${key.join(', ')}`,
    values: [percent],
    rowMode: 'array',
  });
  return keyRanges(rows, parts);
}

/** The key ranges of `entry` (the table in the newest complete version holding it), if it was split over the same columns in the same order. */
function keptRanges(entry: ManifestTable | undefined, orderColumns: string[]): KeyRange[] | null {
  if (!entry?.parts || JSON.stringify(entry.key_columns) !== JSON.stringify(orderColumns)) return null;
  return entry.parts.map((part) => part.key_range);
}

export function splitActivities({ config, pool, storage, temporal, metrics }: ActivityDeps) {
  return {
    /**
     * Opens the export's database snapshot, plans the key ranges of `split`'s tables in it,
     * signals both to the workflow, then holds the snapshot open, heartbeating, until the
     * workflow cancels it (its parts are exported) or is gone.
     */
    async holdDatabaseSnapshot(input: { round: number; split: string[] }): Promise<void> {
      const ctx = Context.current();
      const execution = ctx.info.workflowExecution!;
      const holder = await pool.connect();
      const state = { step: 'planning', snapshot: '' };
      try {
        await withHeartbeat(() => state, async () => {
          const { snapshotId, info } = await openDatabaseSnapshot(holder);
          state.snapshot = info.txid_snapshot;
          const split: HeldSnapshot['split'] = {};
          const orderOf = await exportOrders(config, storage);
          const kept = await newestEntries(storage, input.split.map((key) => sourceOf(config, key).table));
          for (const key of input.split) {
            const source = sourceOf(config, key);
            // Planned on a second connection: the holder itself keeps no lock on the tables.
            const planner = await pool.connect();
            try {
              await joinDatabaseSnapshot(planner, snapshotId);
              const layout = await describeTable(planner, source.table, undefined, source.date_column, orderOf(source.table));
              const ranges = await planRanges(planner, layout, config.backup.split_rows, keptRanges(kept.get(source.table), layout.orderColumns));
              if (ranges.length > 1) split[key] = { keyColumns: layout.orderColumns, ranges };
              log.info({ table: source.table, parts: ranges.length }, 'planned the parts of a split table');
            } finally {
              await planner.query('rollback').catch(() => {});
              planner.release();
            }
          }
          const held: HeldSnapshot = { round: input.round, snapshotId, database: info, split };
          await temporal.workflow.getHandle(execution.workflowId, execution.runId).signal(SNAPSHOT_HELD_SIGNAL, held);
          state.step = 'holding';
          await ctx.cancelled;
        });
      } catch (err) {
        throw exportFailure(err);
      } finally {
        await holder.query('rollback').catch(() => {});
        holder.release();
      }
    },

    /** One key range of a split table, from the held snapshot, to `v<version>/<table>/part-NNNNN.<format>`. */
    async exportTablePart(input: ExportPartInput): Promise<ExportedPart> {
      const ctx = Context.current();
      const source = sourceOf(config, input.source);
      const label = `${source.table} part ${input.index + 1}/${input.count}`;
      const progress = new ProgressReporter(temporal, ctx.info.workflowExecution!, [label]);
      const abort = new AbortController();
      ctx.cancellationSignal.addEventListener('abort', () => abort.abort(ctx.cancellationSignal.reason));
      const format = exportFormat(config);
      const file = partFileName(source.table, input.index, format.format);
      try {
        return await withHeartbeat(() => progress.current(), async () => {
          const database = { url: config.postgres.url, snapshotId: input.snapshotId };
          const order = (await exportOrders(config, storage))(source.table);
          const result = await exportObject({ database, source, version: input.version, file, keyRange: input.range, label, ...format, order, storage, progress, abort });
          metrics.tableExported(source.table, result.rows, result.bytes);
          return {
            part: { file, rows: result.rows, key_range: input.range, date_range: result.dateRange, size_bytes: result.bytes, sha256: result.sha256, crc32: result.crc32 },
            columns: manifestColumns(result),
            spans: result.groupSpans && symbolSpans(result.groupSpans),
          };
        });
      } catch (err) {
        throw exportFailure(err);
      } finally {
        await progress.flush();
      }
    },

    /** The manifest entry of a split table from its exported parts (in export order; keyColumns are the order columns). */
    async assembleSplitTable(input: { source: string; keyColumns: string[]; parts: ExportedPart[] }): Promise<{ table: string; entry: ManifestTable }> {
      const source = sourceOf(config, input.source);
      const [first, ...rest] = input.parts;
      if (!first) throw ApplicationFailure.nonRetryable(`table ${source.table} has no exported parts`, 'IntegrityError');
      const columns = JSON.stringify(first.columns);
      const odd = rest.find((p) => JSON.stringify(p.columns) !== columns);
      // Every part reads the same snapshot, so this means a bug, never a change of data.
      if (odd) throw ApplicationFailure.nonRetryable(`${odd.part.file} has other columns than ${first.part.file}`, 'IntegrityError');
      const parts = input.parts.map((p) => p.part);
      const spans = first.spans && mergedSpans(input.parts.flatMap((p) => p.spans ?? []));
      const { format, compression } = exportFormat(config);
      const entry: ManifestTable = {
        file: `${source.table}/`,
        rows: parts.reduce((sum, p) => sum + p.rows, 0),
        date_range: mergedDateRange(parts.map((p) => p.date_range)),
        size_bytes: parts.reduce((sum, p) => sum + p.size_bytes, 0),
        sha256: createHash('sha256').update(partsDigestInput(parts)).digest('hex'),
        format,
        compression: format === 'parquet' ? compression : 'gzip',
        columns: first.columns,
        ...(spans && { coverage: barCoverage(spans, (symbol) => calendarFor(config, symbol)) }),
        parts,
        key_columns: input.keyColumns,
        order_columns: input.keyColumns,
      };
      return { table: source.table, entry };
    },

    /** Source keys whose tables have more rows than backup.split_rows by the planner's estimate. */
    async tablesToSplit(input: { sources: string[] }): Promise<string[]> {
      const client = await pool.connect();
      try {
        const big: string[] = [];
        for (const key of input.sources) {
          const source = sourceOf(config, key);
          const layout = await describeTable(client, source.table, undefined, source.date_column);
          if (layout.keyColumns.length > 0 && partCount(await estimatedRows(client, layout), config.backup.split_rows) > 1) big.push(key);
        }
        return big;
      } catch (err) {
        throw exportFailure(err);
      } finally {
        client.release();
      }
    },
  };
}
