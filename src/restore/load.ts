/**
 * Streams a source file into a staging table with one COPY FROM STDIN: Parquet row group by
 * row group → Arrow → binary COPY, or CSV (gunzipped on the fly) as PostgreSQL CSV with
 * its header. Pulled end to end, so memory is one row group whatever the file size.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type * as arrow from 'apache-arrow';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { ManifestColumn } from '../domain/manifest.js';
import { IntegrityError } from '../errors.js';
import { CopyBinaryEncoder, copyBinaryHeader, copyBinaryTrailer, type Encoded } from '../parquet/copy-binary-encoder.js';
import { parquetFileInfo, readParquetBatches, type ParquetSource } from '../parquet/parquet-reader.js';
import type { TableLayout } from '../parquet/table-catalog.js';
import { columnsWithDefaults, matchColumns, parquetColumns } from './compatibility.js';
import { customDumpScript, dumpCopyBlock } from './dump-copy.js';
import type { SourceFile } from './source-file.js';

export interface LoadOptions {
  client: pg.ClientBase;
  layout: TableLayout;
  staging: string;
  file: SourceFile;
  onProgress?: (rows: number) => void;
  /** COPY FREEZE: rows land frozen, sparing the later vacuum; needs the table created in the caller's open transaction. */
  freeze?: boolean;
  /** Sees every batch of a Parquet file on its way to COPY. */
  onBatch?: (batch: arrow.RecordBatch) => void;
}

/** Loads the file (every part of a split table, in order); returns the rows COPY reported. */
export async function loadIntoStaging(options: LoadOptions): Promise<number> {
  const defaults = await columnsWithDefaults(options.client, options.layout.sql);
  switch (options.file.format) {
    case 'parquet':
      return loadParquet(options, defaults);
    case 'csv':
    case 'csv.gz': {
      // Each part has its own header: one COPY per part, all in the caller's transaction.
      let rows = 0;
      for (const path of options.file.paths) {
        const before = rows;
        rows += await loadCsv({ ...options, onProgress: (n) => options.onProgress?.(before + n) }, path, defaults);
      }
      return rows;
    }
    default:
      return loadDump(options, defaults);
  }
}

/** All parts go through one COPY: the parts of a table share one schema, so one encoder serves them all. */
async function loadParquet({ client, layout, staging, file, onProgress, freeze, onBatch }: LoadOptions, defaults: Set<string>): Promise<number> {
  const sources: ParquetSource[] = file.arriving ? [file.arriving] : file.paths;
  const { fields } = await parquetFileInfo(sources[0]!);
  const manifestColumns: ManifestColumn[] | null = file.entry?.columns ?? null;
  const columns = parquetColumns(layout, fields, manifestColumns, defaults);
  const encoder = new CopyBinaryEncoder(layout.label, columns);
  const copy = new RecyclingCopyIn(client, `COPY ${staging} (${columnList(columns.map((c) => c.name))}) FROM STDIN (FORMAT binary${freeze ? ', FREEZE true' : ''})`);
  try {
    let rows = 0;
    copy.write(copyBinaryHeader());
    for (const source of sources) {
      for await (const batch of readParquetBatches(source, columns.map((c) => c.name))) {
        await copy.send((buffer) => encoder.encode(batch, buffer));
        onBatch?.(batch);
        rows += batch.numRows;
        onProgress?.(rows);
      }
    }
    copy.write(copyBinaryTrailer());
    return await copy.end();
  } catch (error) {
    await copy.abort(error);
    throw error;
  }
}

async function loadCsv({ client, layout, staging, file, onProgress, freeze }: LoadOptions, path: string, defaults: Set<string>): Promise<number> {
  const header = await readCsvHeader(file, path);
  matchColumns(layout, header, defaults);
  const body = createReadStream(path);
  const text = file.format === 'csv.gz' ? body.pipe(createGunzip()) : body;
  // Rows so far, counted as line ends past the header (quoted newlines make it approximate).
  let lines = -1;
  text.on('data', (chunk: Buffer) => {
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) lines++;
    onProgress?.(Math.max(lines, 0));
  });
  return copyIn(client, `COPY ${staging} (${columnList(header)}) FROM STDIN (FORMAT csv, HEADER true${freeze ? ', FREEZE true' : ''})`, text);
}

/** The table's COPY block of a pg_dump script (plain, gzipped, or printed from a custom dump), rows in COPY text format. */
async function loadDump({ client, layout, staging, file, onProgress, freeze }: LoadOptions, defaults: Set<string>): Promise<number> {
  const script =
    file.format === 'dump'
      ? customDumpScript(file.paths[0]!, layout.schema, layout.name)
      : file.format === 'sql.gz'
        ? createReadStream(file.paths[0]!).pipe(createGunzip())
        : createReadStream(file.paths[0]!);
  const block = dumpCopyBlock(script, layout.schema, layout.name, file.location)[Symbol.asyncIterator]();
  try {
    const header = await block.next();
    if (header.done) throw new IntegrityError(`${file.location}: no COPY block for ${layout.label} in the dump`);
    const columns = header.value as string[];
    matchColumns(layout, columns, defaults);
    let rows = 0;
    async function* data(): AsyncGenerator<Buffer> {
      for (let next = await block.next(); !next.done; next = await block.next()) {
        const lines = next.value as Buffer;
        for (let i = lines.indexOf(0x0a); i !== -1; i = lines.indexOf(0x0a, i + 1)) rows++;
        onProgress?.(rows);
        yield lines;
      }
    }
    return await copyIn(client, `COPY ${staging} (${columnList(columns)}) FROM STDIN${freeze ? ' (FREEZE true)' : ''}`, Readable.from(data()));
  } finally {
    script.destroy();
  }
}

/**
 * A split table's parts over up to `connections` connections at once, one COPY per part,
 * into a staging table already committed (the other connections must see it, so no FREEZE).
 * After a failure no lane starts another part, and every lane has stopped when this rejects,
 * so the caller may drop the staging table at once.
 */
export async function loadPartsInParallel(pool: pg.Pool, options: Omit<LoadOptions, 'client' | 'freeze'>, connections: number): Promise<number> {
  const { file, onProgress } = options;
  const loaded = file.paths.map(() => 0);
  const total = () => loaded.reduce((sum, rows) => sum + rows, 0);
  let next = 0;
  let failure: { error: unknown } | null = null;
  const lane = async () => {
    const client = await pool.connect();
    try {
      while (!failure && next < file.paths.length) {
        const part = next++;
        const partFile = { ...file, paths: [file.paths[part]!] };
        loaded[part] = await loadIntoStaging({ ...options, client, file: partFile, onProgress: (rows) => ((loaded[part] = rows), onProgress?.(total())) });
      }
      client.release();
    } catch (error) {
      failure ??= { error };
      // A connection that failed mid-COPY is in no state to reuse.
      client.release(true);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(connections, file.paths.length)) }, lane));
  if (failure) throw (failure as { error: unknown }).error;
  return total();
}

/** Encoded batches (~8 MB each) between the encoder and the socket: one being sent, one queued behind it, one being encoded. */
const OUTPUT_BUFFERS = 3;

/**
 * A COPY FROM STDIN fed from a few reused buffers: a buffer is filled again only once the
 * COPY stream has handed its bytes to the socket. A fresh buffer per batch was 1.2 GB of
 * short-lived ArrayBuffers per 10M rows, and the garbage collections they forced on a
 * worker's large heap cost more CPU than the encoding itself (docs/PERFORMANCE.md).
 */
class RecyclingCopyIn {
  private readonly copy: ReturnType<typeof copyFrom>;
  /** Rejects when the COPY fails (the server rejected a row, the connection dropped). */
  private readonly failed: Promise<never>;
  private readonly slots: { buffer: Buffer; sent: Promise<void> }[] = Array.from({ length: OUTPUT_BUFFERS }, () => ({ buffer: Buffer.alloc(0), sent: Promise.resolve() }));
  private next = 0;

  constructor(client: pg.ClientBase, sql: string) {
    this.copy = client.query(copyFrom(sql));
    this.failed = new Promise((_, reject) => this.copy.once('error', reject));
    this.failed.catch(() => {});
  }

  /** Waits for the next buffer to be free, has `fill` encode into it, and queues the bytes for the socket. */
  async send(fill: (buffer: Buffer) => Encoded): Promise<void> {
    const slot = this.slots[this.next]!;
    this.next = (this.next + 1) % this.slots.length;
    await Promise.race([slot.sent, this.failed]);
    const { buffer, end } = fill(slot.buffer);
    slot.buffer = buffer;
    slot.sent = new Promise((resolve, reject) => this.copy.write(buffer.subarray(0, end), (err) => (err ? reject(err) : resolve())));
    slot.sent.catch(() => {});
  }

  /** A few bytes of their own (the header and trailer), never reused. */
  write(bytes: Buffer): void {
    this.copy.write(bytes);
  }

  /** Ends the COPY; resolves with the rows the server reported once it committed them to the table. */
  async end(): Promise<number> {
    this.copy.end();
    await Promise.race([finished(this.copy), this.failed]);
    return this.copy.rowCount;
  }

  /** Cancels the COPY (the server rolls it back) and waits until the connection can take the next query. */
  async abort(error: unknown): Promise<void> {
    this.copy.destroy(error as Error);
    await finished(this.copy).catch(() => {});
  }
}

async function copyIn(client: pg.ClientBase, sql: string, body: Readable): Promise<number> {
  const copy = client.query(copyFrom(sql));
  await pipeline(body, copy);
  return copy.rowCount;
}

function columnList(names: string[]): string {
  return names.map((n) => pg.escapeIdentifier(n)).join(', ');
}

const MAX_HEADER_BYTES = 64 << 10;

/** The first line's column names (RFC 4180 quoting, as our CSV writer and most tools write them). */
async function readCsvHeader(file: SourceFile, path: string): Promise<string[]> {
  const body = createReadStream(path);
  const text = file.format === 'csv.gz' ? body.pipe(createGunzip()) : body;
  let line = '';
  try {
    for await (const chunk of text) {
      line += (chunk as Buffer).toString('utf8');
      const end = line.indexOf('\n');
      if (end >= 0) {
        line = line.slice(0, end);
        break;
      }
      if (line.length > MAX_HEADER_BYTES) break;
    }
  } catch (err) {
    throw new IntegrityError(`${file.location}: cannot read the CSV header (${(err as Error).message})`);
  } finally {
    body.destroy();
  }
  const names = [...line.replace(/\r$/, '').matchAll(/(?:^|,)(?:"((?:[^"]|"")*)"|([^,]*))/g)].map((m) => (m[1] !== undefined ? m[1].replaceAll('""', '"') : m[2]!).trim());
  if (names.length === 0 || names.some((n) => n === '')) throw new IntegrityError(`${file.location}: the first line is not a CSV header`);
  return names;
}
