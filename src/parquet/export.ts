/**
 * Exports one table: COPY (binary) → decoder → Arrow batches → streaming Parquet writer
 * (or CSV text → gzip) → `out`, hashing and counting on the way. Everything is pulled, so
 * memory stays at one batch plus one row group whatever the table size, and a slow `out`
 * slows the COPY instead of filling memory.
 */
import { createHash } from 'node:crypto';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import pg from 'pg';
import { ArrowBatchBuilder } from './arrow-builder.js';
import { CopyBinaryDecoder, type CopyRowSink } from './copy-binary-decoder.js';
import { startCopy, stopCopy } from './copy-stream.js';
import { CsvRowWriter } from './csv-writer.js';
import { DateRangeTap } from './date-range.js';
import { groupSpanTracker, type GroupSpan, type GroupSpanColumns, type GroupSpanTracker } from './group-spans.js';
import { ParquetStream, type Compression } from './parquet-writer.js';
import { describeTable, selectSql, withExactDecimals, type TableLayout } from './table-catalog.js';
import { planTimeChunks, type TimeChunkedRead } from './time-chunks.js';
import type { ExportOrder } from '../domain/export-order.js';
import type { KeyRange } from '../domain/split.js';
import { InputError } from '../errors.js';
import { UploadCrc } from '../storage/upload-crc.js';

export type { Compression } from './parquet-writer.js';
export type { GroupSpan, GroupSpanColumns } from './group-spans.js';
export type ExportFormat = 'parquet' | 'csv.gz';

export interface ColumnInfo {
  name: string;
  /** e.g. 'numeric(12,4)', 'timestamp with time zone' (PostgreSQL's format_type). */
  pgType: string;
  /** e.g. 'DECIMAL(12,4)', 'TIMESTAMP(MICROS,UTC)'; see pg-types.ts for the full mapping. */
  parquetType: string;
  nullable: boolean;
}

export interface ExportResult {
  rows: number;
  /** Size and SHA-256 of exactly the bytes written to `out`. */
  bytes: number;
  sha256: string;
  /** The CRC32 an S3 store reports for these bytes once uploaded (storage/upload-crc). */
  crc32: string;
  columns: ColumnInfo[];
  /** UTC dates (YYYY-MM-DD) of the min and max of dateColumn; null without dateColumn or values. */
  dateRange: [string, string] | null;
  /** Per group of the groupSpans option, from the rows exported; null without the option. */
  groupSpans: GroupSpan[] | null;
  /** The columns the rows are sorted by (the key's, in export order); empty for a table without a key. */
  orderColumns: string[];
  /** How many COPY queries read the rows: more than one when read in time ranges (time-chunks.ts). */
  reads: number;
}

export interface ExportOptions {
  /** Queries run on it as they are, e.g. inside the caller's REPEATABLE READ snapshot transaction. */
  client: pg.ClientBase;
  table: string;
  /** Defaults to the client's search_path. */
  schema?: string;
  dateColumn?: string;
  /** Also track each group's row count and time span as the rows stream past (no extra scan). */
  groupSpans?: GroupSpanColumns;
  format: ExportFormat;
  /** Parquet page compression; csv.gz is always gzip and ignores it. */
  compression: Compression;
  /** csv.gz only: the gzip level (zlib's default when absent). */
  gzipLevel?: number;
  /** Ended on success, destroyed on failure. */
  out: NodeJS.WritableStream;
  onProgress?: (rows: number) => void;
  /**
   * Rows per Arrow record batch (Parquet); default 32768. Row groups are 131072 rows
   * regardless, but page boundaries follow batches: keep it fixed for byte-identical files.
   */
  batchRows?: number;
  /** Aborting cancels the COPY on the server and rejects with an AbortError. */
  signal?: AbortSignal;
  /** Only the rows whose key, in the order of the order columns, is in this range (a part of a split table); the table needs a key. */
  keyRange?: KeyRange;
  /** table-catalog's exportOrder; default key. */
  order?: ExportOrder;
  /**
   * Sort by these instead of `order`, e.g. to match a snapshot taken in another order: the
   * key's columns, in any order.
   */
  orderColumns?: string[];
  /** The memory PostgreSQL may use to sort one time range of a time-ordered heap (time-chunks.ts); default 64 MiB. */
  sortChunkBytes?: number;
  /**
   * A second connection in the same database snapshot as `client`, opened only for a read in
   * time ranges: each range's scan and sort then runs on one while the range before streams from
   * the other. The caller closes it.
   */
  openReader?: () => Promise<pg.ClientBase>;
}

/** Small enough that a batch and its IPC copy stay a few MB, large enough to amortise per-batch work. */
const DEFAULT_BATCH_ROWS = 32_768;
/** A batch also ends at this much variable-width data, so wide text rows keep memory flat. */
const MAX_BATCH_BYTES = 64 << 20;

export async function exportTable(options: ExportOptions): Promise<ExportResult> {
  const { client, format, signal } = options;
  let layout: TableLayout;
  let spans: GroupSpanTracker | null;
  let queries: string[];
  let chunked: TimeChunkedRead | null;
  let readers: pg.ClientBase[];
  try {
    signal?.throwIfAborted();
    layout = await describeTable(client, options.table, options.schema, options.dateColumn, options.order);
    if (options.orderColumns) layout = { ...layout, orderColumns: keyPermutation(layout, options.orderColumns) };
    // csv.gz prints every numeric as its exact text anyway: only Parquet gains from a DECIMAL.
    if (format === 'parquet') layout = await withExactDecimals(client, layout);
    spans = options.groupSpans ? groupSpanTracker(layout, options.groupSpans) : null;
    const filter = options.keyRange ? keyRangeConditions(layout, options.keyRange) : [];
    const scope = { filter, leadFrom: options.keyRange?.from?.[0] ?? null, leadTo: options.keyRange?.to?.[0] ?? null };
    chunked = await planTimeChunks(client, layout, scope, options.sortChunkBytes);
    queries = chunked ? chunked.conditions.map((condition) => copySql(layout, [...filter, condition])) : [copySql(layout, filter)];
    readers = chunked && options.openReader ? [client, await options.openReader()] : [client];
    signal?.throwIfAborted();
  } catch (error) {
    // Without the error: a stream with no 'error' listener would crash the process; the caller gets it as the rejection.
    (options.out as Partial<Writable>).destroy?.();
    throw error;
  }

  const dateRange = layout.dateColumnIndex < 0 ? null : new DateRangeTap(layout.dateColumnIndex, layout.columns[layout.dateColumnIndex].kind);
  const digest = new DigestCounter();
  const taps = [...(dateRange ? [dateRange] : []), ...(spans?.taps ?? [])];
  const started: { reader: pg.ClientBase; copy: Readable }[] = [];
  // Range i is read on reader i mod 2, so with two readers the next range's scan and sort run while this one streams.
  const copies = queries.map((sql, i) => () => {
    const reader = readers[i % readers.length]!;
    const copy = startCopy(reader, sql);
    started.push({ reader, copy });
    return copy;
  });
  let rows = 0;
  const decode = <T>(sink: BatchSink<T>): AsyncGenerator<T> => {
    const decoder = new CopyBinaryDecoder(layout.columns.length, sink, taps);
    return decodeBatches(startedInTurn(copies, readers.length > 1), decoder, sink, () => {
      rows = decoder.rows;
      options.onProgress?.(rows);
    });
  };
  const restoreSettings: (() => Promise<void>)[] = [];
  try {
    for (const reader of readers) restoreSettings.push(await applySettings(reader, readSettings(layout, chunked)));
    if (format === 'parquet') {
      const builder = new ArrowBatchBuilder(layout.label, layout.columns, options.batchRows ?? DEFAULT_BATCH_ROWS, MAX_BATCH_BYTES);
      await pipeline(new ParquetStream(decode(builder), builder.schema, options.compression), digest, options.out, { signal });
    } else {
      await pipeline(decode(new CsvRowWriter(layout.label, layout.columns)), createGzip({ level: options.gzipLevel }), digest, options.out, { signal });
    }
  } catch (error) {
    (options.out as Partial<Writable>).destroy?.();
    await Promise.all(started.map(({ reader, copy }) => stopCopy(reader, copy)));
    throw error;
  } finally {
    for (const restore of restoreSettings) await restore();
  }
  return {
    rows,
    bytes: digest.bytes,
    sha256: digest.sha256(),
    crc32: digest.crc.digest(),
    columns: layout.columns.map(({ name, pgType, parquetType, nullable }) => ({ name, pgType, parquetType, nullable })),
    dateRange: dateRange?.range() ?? null,
    groupSpans: spans?.spans() ?? null,
    orderColumns: layout.orderColumns,
    reads: queries.length,
  };
}

/** `order` if it lists the key's columns, each once; otherwise an InputError naming both. */
function keyPermutation(layout: TableLayout, order: string[]): string[] {
  const sorted = (names: string[]) => JSON.stringify([...names].sort());
  if (layout.keyColumns.length === 0 || sorted(order) !== sorted(layout.keyColumns)) {
    throw new InputError(`cannot sort ${layout.label} by (${order.join(', ')}): its key is (${layout.keyColumns.join(', ')})`);
  }
  return order;
}

function copySql(layout: TableLayout, conditions: string[]): string {
  return `COPY (${selectSql(layout, conditions)}) TO STDOUT (FORMAT binary)`;
}

/**
 * `(k1, k2) >= (...)`, `(k1, k2) < (...)` over the order columns: COPY takes no
 * parameters, so the bounds are typed literals. The leading column's own bounds are added:
 * they say nothing new, but in a form a BRIN or B-tree index on that column can use (a row
 * comparison is not), so a part of a table in time order reads its pages, not the whole heap.
 */
function keyRangeConditions(layout: TableLayout, range: KeyRange): string[] {
  const order = layout.orderColumns;
  if (order.length === 0) throw new InputError(`table ${layout.label} has no key to split it by`);
  const types = order.map((name) => layout.columns.find((c) => c.name === name)!.pgType);
  const literal = (value: string, i: number) => `${pg.escapeLiteral(value)}::${types[i]}`;
  const bounds = (values: string[]) => {
    if (values.length !== order.length) throw new InputError(`a key range of ${layout.label} has ${values.length} values for key (${order.join(', ')})`);
    return { leading: literal(values[0]!, 0), row: `(${values.map(literal).join(', ')})` };
  };
  const key = `(${order.map((name) => pg.escapeIdentifier(name)).join(', ')})`;
  const leading = pg.escapeIdentifier(order[0]!);
  const conditions: string[] = [];
  if (range.from) {
    const from = bounds(range.from);
    conditions.push(`${leading} >= ${from.leading}`, `${key} >= ${from.row}`);
  }
  if (range.to) {
    const to = bounds(range.to);
    conditions.push(`${leading} <= ${to.leading}`, `${key} < ${to.row}`);
  }
  return conditions;
}

/**
 * Session settings for the export's reads. The export order costs a sort or an index scan. When
 * the heap is not in that order (the bars' (symbol, time) key on a table that grows time step by
 * time step), the planner still tends to walk an index that gives the order, jumping across the
 * heap row by row: then index scans are turned off so the COPY reads the heap sequentially and
 * sorts. The rows, so the file's bytes, are the same either way (the key is unique). Reads in time
 * ranges get the work_mem that sorts each range in memory, and no JIT: it compiles every range's
 * query anew, and a range of a large table is costed high enough for its slowest compile (a part
 * of 17M rows of a 100M-row table: 12.3 s read in 60 ranges with JIT, 7.5 s without).
 */
function readSettings(layout: TableLayout, chunked: TimeChunkedRead | null): Record<string, string> {
  if (chunked) return { work_mem: chunked.workMem, jit: 'off' };
  if (layout.orderColumns.length === 0 || layout.heapInExportOrder) return {};
  return { enable_indexscan: 'off', enable_bitmapscan: 'off' };
}

/** Sets `settings` on the session; returns what puts the caller's values back. */
async function applySettings(client: pg.ClientBase, settings: Record<string, string>): Promise<() => Promise<void>> {
  const names = Object.keys(settings);
  if (names.length === 0) return async () => {};
  const set = (values: string[]) => client.query(`SELECT ${names.map((name, i) => `set_config(${pg.escapeLiteral(name)}, $${i + 1}, false)`).join(', ')}`, values);
  const saved = (await client.query<{ values: string[] }>(`SELECT ARRAY[${names.map((name) => `current_setting(${pg.escapeLiteral(name)})`).join(', ')}] AS values`)).rows[0]!.values;
  await set(names.map((name) => settings[name]!));
  return async () => {
    // In a transaction the failed COPY aborted, the query fails, and the abort has already undone the change.
    await set(saved).catch(() => {});
  };
}

interface BatchSink<T> extends CopyRowSink {
  readonly isEmpty: boolean;
  finish(): T;
}

/**
 * Decodes the COPYs one after another, as one stream of rows. Yields a batch each time the sink
 * fills, then the remainder. Always yields at least once: the Parquet writer learns the schema
 * from the first batch, even an empty one.
 */
async function* decodeBatches<T>(copies: Iterable<Readable>, decoder: CopyBinaryDecoder, sink: BatchSink<T>, onBatch: () => void): AsyncGenerator<T> {
  let yielded = false;
  let first = true;
  for (const copy of copies) {
    // Batches run on across COPYs, so their boundaries (and the file's bytes) do not depend on the reads.
    if (!first) decoder.nextCopy();
    first = false;
    // The COPY stream must not be destroyed on early exit: stopCopy still needs to drain it.
    for await (const chunk of copy.iterator({ destroyOnReturn: false })) {
      decoder.push(chunk as Uint8Array);
      while (decoder.decode()) {
        onBatch();
        yield sink.finish();
        yielded = true;
      }
    }
  }
  decoder.finish();
  onBatch();
  if (!sink.isEmpty || !yielded) yield sink.finish();
}

/**
 * Starts the COPYs one at a time, as they are read; with `lookAhead`, each one as the one before
 * it is handed out (on another connection), so the server prepares it in the meantime.
 */
function* startedInTurn(starts: (() => Readable)[], lookAhead: boolean): Generator<Readable> {
  let next = lookAhead && starts.length > 0 ? starts[0]!() : null;
  for (let i = 0; i < starts.length; i++) {
    const current = next ?? starts[i]!();
    next = lookAhead && i + 1 < starts.length ? starts[i + 1]!() : null;
    yield current;
  }
}

/** Passes bytes through unchanged while hashing and counting them. */
class DigestCounter extends Transform {
  private readonly hash = createHash('sha256');
  readonly crc = new UploadCrc();
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (error: null, data: Buffer) => void): void {
    this.hash.update(chunk);
    this.crc.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  sha256(): string {
    return this.hash.digest('hex');
  }
}
