/**
 * Diffs two snapshot versions, or a version and the live tables, table by table. A table
 * whose files have the same sha256 is identical without reading a row. Otherwise both
 * Parquet files are downloaded (checked against the manifest by the restore's fetch) and
 * merge-joined by the table's key; the live side is first exported to a temporary Parquet
 * file by the snapshot's own export, so both sides have the same value representation and
 * the same key order. Memory stays at about one row group per side whatever the size.
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import type { ManifestTable } from '../domain/manifest.js';
import { comparedColumns, fitSamples, LIVE_DATABASE, mergeDiff, sampleLimitProblem, schemaChange, selectTables, type DiffColumn, type DiffTally, type TableDiff } from '../domain/snapshot-diff.js';
import { errorMessage, InputError } from '../errors.js';
import { arrowRowComparison, ParquetRowCursor } from '../parquet/arrow-rows.js';
import { exportTable } from '../parquet/export.js';
import { describeTable } from '../parquet/table-catalog.js';
import { fetchSourceFile, findManifest, type SourceFile } from '../restore/source-file.js';
import type { Storage } from '../storage/types.js';
import { makeTempFolder } from '../temp-folders.js';

export interface DiffOptions {
  storage: Storage;
  pool: pg.Pool;
  /** A version or `latest`. */
  older: string;
  /** A version, `latest` or `db` (the live tables). */
  newer: string;
  /** Default: every table of either side. */
  tables?: string[];
  /** Samples per kind (added, removed, changed) and table. */
  limit: number;
  /** Called as each table starts, for heartbeats. */
  onTable?: (table: string, index: number) => void;
}

export interface SnapshotDiff {
  /** The versions compared (`latest` resolved), or `db`. */
  older: string;
  newer: string;
  tables: TableDiff[];
  /** Whether samples were cut below the limit to keep the result small (see fitSamples). */
  samplesTrimmed: boolean;
}

/** A side of one table: its manifest entry (a snapshot) or null (the live table, exported when needed). */
interface Side {
  label: string;
  entry: ManifestTable | null;
}

export async function diffSnapshots(options: DiffOptions): Promise<SnapshotDiff> {
  const older = await findManifest(options.storage, options.older);
  const newer = options.newer === LIVE_DATABASE ? null : await findManifest(options.storage, options.newer);
  const problem = sampleLimitProblem(options.limit);
  if (problem) throw new InputError(`limit ${options.limit}: ${problem}`);
  const tables = selectTables(options.tables, Object.keys(older.manifest.tables), Object.keys(newer?.manifest.tables ?? {}));
  const newerLabel = newer?.manifest.version ?? LIVE_DATABASE;
  const results: TableDiff[] = [];
  for (const [index, table] of tables.entries()) {
    options.onTable?.(table, index);
    const olderSide = { label: older.manifest.version, entry: older.manifest.tables[table] ?? null };
    const newerSide = { label: newerLabel, entry: newer ? (newer.manifest.tables[table] ?? null) : null };
    results.push(await diffTable(options, table, olderSide, newerSide, newer === null));
  }
  const fitted = fitSamples(results);
  return { older: older.manifest.version, newer: newerLabel, tables: fitted.tables, samplesTrimmed: fitted.trimmed };
}

function emptyDiff(table: string, older: ManifestTable | null, newer: ManifestTable | null): TableDiff {
  return {
    table,
    status: 'skipped',
    olderRows: older?.rows ?? null,
    newerRows: newer?.rows ?? null,
    added: 0,
    removed: 0,
    changed: 0,
    schema: older && newer ? schemaChange(older.columns, newer.columns) : null,
    compared: [],
    samples: { added: [], removed: [], changed: [] },
    message: null,
  };
}

async function diffTable(options: DiffOptions, table: string, older: Side, newer: Side, live: boolean): Promise<TableDiff> {
  const missing = !older.entry ? older : !newer.entry && !live ? newer : null;
  if (missing) return { ...emptyDiff(table, older.entry, newer.entry), message: `not in ${missing.label}` };
  const olderEntry = older.entry!;
  if (newer.entry && newer.entry.sha256 === olderEntry.sha256) return { ...emptyDiff(table, olderEntry, newer.entry), status: 'identical' };
  const csv = [older, newer].find((side) => side.entry && side.entry.format !== 'parquet');
  if (csv) return { ...emptyDiff(table, olderEntry, newer.entry), message: `${csv.label} holds ${table} as ${csv.entry!.format}; only Parquet snapshots are diffed row by row` };

  const files: SourceFile[] = [];
  try {
    // The connection is held only to read the key and to export the live side, not for the merge.
    const client = await options.pool.connect();
    let keyColumns: string[];
    let live: LiveExport | null = null;
    try {
      // Versions before the export order do not record it: their rows are in the order of the
      // live table's key (a changed key shows as out-of-order rows).
      let liveKey: string[];
      try {
        liveKey = (await describeTable(client, table, undefined, undefined)).keyColumns;
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        return { ...emptyDiff(table, olderEntry, newer.entry), message: `cannot read the key of ${table} from the database: ${err.message}` };
      }
      keyColumns = olderEntry.order_columns ?? liveKey;
      const newerOrder = newer.entry ? (newer.entry.order_columns ?? liveKey) : keyColumns;
      if (JSON.stringify(newerOrder) !== JSON.stringify(keyColumns)) {
        const message = `${older.label} has the rows of ${table} sorted by (${keyColumns.join(', ')}), ${newer.label} by (${newerOrder.join(', ')}): compare each with the database instead`;
        return { ...emptyDiff(table, olderEntry, newer.entry), message };
      }
      if (!newer.entry) {
        if (keyColumns.length > 0 && JSON.stringify([...keyColumns].sort()) !== JSON.stringify([...liveKey].sort())) {
          const message = `the key of ${table} is (${liveKey.join(', ')}) in the database, (${keyColumns.join(', ')}) in ${older.label}: rows cannot be matched`;
          return { ...emptyDiff(table, olderEntry, null), message };
        }
        live = await exportLiveTable(client, table, olderEntry, keyColumns);
        files.push(live.file);
      }
    } finally {
      client.release();
    }
    if (live && live.sha256 === olderEntry.sha256) return { ...emptyDiff(table, olderEntry, olderEntry), status: 'identical' };
    const newerColumns: DiffColumn[] = live?.columns ?? newer.entry!.columns;
    files.unshift(await fetchSourceFile({ kind: 'store', label: 'minio', version: older.label }, table, options.storage));
    if (!live) files.push(await fetchSourceFile({ kind: 'store', label: 'minio', version: newer.label }, table, options.storage));
    const base = { ...emptyDiff(table, olderEntry, null), newerRows: live?.rows ?? newer.entry!.rows, schema: schemaChange(olderEntry.columns, newerColumns) };
    let columns: { key: string[]; values: string[] };
    try {
      columns = comparedColumns(table, keyColumns, olderEntry.columns, newerColumns);
    } catch (err) {
      return { ...base, message: errorMessage(err) };
    }
    const tally = await diffParquetFiles(table, files[0]!.paths, files[1]!.paths, columns, options.limit);
    return { ...base, ...tally, status: 'compared', compared: [...columns.key, ...columns.values] };
  } finally {
    await Promise.all(files.map((file) => file.cleanup()));
  }
}

/**
 * Merge-joins two versions of one table, each a Parquet file or a split table's parts in key
 * order, both sorted by `columns.key`, comparing `columns.values`.
 */
export async function diffParquetFiles(table: string, olderPaths: string[], newerPaths: string[], columns: { key: string[]; values: string[] }, limit: number): Promise<DiffTally> {
  const read = [...columns.key, ...columns.values];
  const [older, newer] = [new ParquetRowCursor(olderPaths, read), new ParquetRowCursor(newerPaths, read)];
  try {
    return await mergeDiff(table, older, newer, arrowRowComparison(columns.key.length), limit);
  } finally {
    await Promise.all([older.close(), newer.close()]);
  }
}

interface LiveExport {
  file: SourceFile;
  sha256: string;
  rows: number;
  columns: DiffColumn[];
}

/** The live table as a Parquet file written like the snapshot's (same compression, so identical rows give the same sha256). */
async function exportLiveTable(client: pg.ClientBase, table: string, like: ManifestTable, orderColumns: string[]): Promise<LiveExport> {
  const dir = await makeTempFolder('diff');
  const path = join(dir, 'live.parquet');
  const file: SourceFile = { paths: [path], format: 'parquet', location: `database table ${table}`, version: null, entry: null, cleanup: () => rm(dir, { recursive: true, force: true }) };
  try {
    const result = await exportTable({ client, table, format: 'parquet', compression: like.compression, orderColumns: orderColumns.length > 0 ? orderColumns : undefined, out: createWriteStream(path) });
    return { file, sha256: result.sha256, rows: result.rows, columns: result.columns.map((c) => ({ name: c.name, pg_type: c.pgType })) };
  } catch (err) {
    await file.cleanup();
    throw err;
  }
}
