/**
 * Integration tests of exportTable against a real PostgreSQL (DATABASE_URL, a role that may
 * create databases). Parquet files are read back with hyparquet, a reader independent of
 * the parquet-wasm/Arrow stack that wrote them, and compared row by row with SELECT results.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { parquetMetadata, parquetReadObjects, type FileMetaData, type SchemaElement } from 'hyparquet';
import pg from 'pg';
import { exportTable, type Compression, type ExportOptions, type ExportResult, type GroupSpan } from '../src/parquet/export.js';
import { InputError } from '../src/errors.js';
import { CopyBinaryEncoder } from '../src/parquet/copy-binary-encoder.js';
import { parquetFileInfo, readParquetBatches } from '../src/parquet/parquet-reader.js';
import { describeTable } from '../src/parquet/table-catalog.js';
import { parquetColumns } from '../src/restore/compatibility.js';
import { loadIntoStaging } from '../src/restore/load.js';

const DATABASE = `test_parquet_${randomBytes(5).toString('hex')}`;

const SCHEMA_SQL = `
  CREATE TABLE every_type (
    id int8 PRIMARY KEY,
    b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8,
    n_small numeric(9,2), n numeric(12,4), n_wide numeric(38,10), n_free numeric,
    ts timestamp, tstz timestamptz, d date,
    t text, vc varchar(20), bp char(5), nm name, u uuid, j json, jb jsonb, by bytea,
    "Mixed ""Case"", col" text
  );
  INSERT INTO every_type VALUES
    (1, true, 1, 2, 3, 1.5, 2.25, 1.5, 1.5, 1.5, 1.5,
     '2024-03-01 12:34:56.789012', '2024-03-01 12:34:56.789012+00', '2024-03-01',
     'AAPL', 'v', 'ab', 'name', '01234567-89ab-cdef-0123-456789abcdef', '{"a": [1, 2]}', '{"b": {"c": null}}', '\\x00ff10', 'x'),
    (2, false, -32768, -2147483648, -9223372036854775808, '-Infinity', 'NaN', -9999999.99, -99999999.9999,
     '-9999999999999999999999999999.9999999999', 'NaN',
     '1969-07-20 20:17:40.000001', '1954-07-31 23:59:59.999999+00', '1954-07-31',
     '', '', '', '', '00000000-0000-0000-0000-000000000000', '[]', '[]', '\\x', ''),
    (3, NULL, 32767, 2147483647, 9223372036854775807, '-0', 1e300, 0, 0.0001,
     '9999999999999999999999999999.9999999999', '-123456789012345678901234567890.000000000000000001',
     '1999-12-31 23:59:59.999999', '2262-04-11 23:47:16.854775+00', '2262-04-11',
     'comma, "quote"' || chr(10) || 'newline', 'Zürich ✓', 'x', 'n', NULL, '"s"', '"s"', NULL, NULL),
    (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (5, true, 0, 0, 0, 3.4028235e38, 5e-324, 0.01, 99999999.9999, 0.0000000001, '100.50',
     '0001-01-01 00:00:00', '1900-01-01 00:00:00+00', '0001-01-01',
     'tab	and \\ backslash', 'x', 'abcde', 'x', NULL, '{}', '{}', '\\x5c', NULL);

  -- Unconstrained numerics: DECIMAL only where that gives every value back exactly.
  CREATE TABLE free_numerics (
    id numeric PRIMARY KEY, same_scale numeric, integers numeric, mixed numeric, with_nan numeric, all_null numeric, huge numeric
  );
  INSERT INTO free_numerics VALUES
    (1, 1.50, 7, 1.5, 1.00, NULL, 10000000000000000000000000000000000000000),
    (2, -1234.25, -42, 1.25, 'NaN', NULL, 1),
    (3, 0.05, 0, NULL, 2.00, NULL, 2),
    (4, NULL, NULL, 3, 3.00, NULL, 3);

  CREATE TABLE no_key (v int4, label text);
  INSERT INTO no_key SELECT g, 'row ' || g FROM generate_series(1, 1000) g;

  CREATE TABLE empty_table (id int4 PRIMARY KEY, at timestamptz);

  CREATE TABLE ticks (symbol text, time timestamptz, price numeric(12,4), PRIMARY KEY (symbol, time));
  INSERT INTO ticks
    SELECT 'S' || (g % 7), timestamptz '2021-05-01 00:00:00+00' + g * interval '1 second', round((g % 100000) / 7.0, 4)
      FROM generate_series(1, 200000) g;

  CREATE TABLE unsupported (id int4, span interval, tags text[]);

  -- No key, so rows come in insertion order: groups interleave; the time comes before the group.
  CREATE TABLE bar_spans (time timestamptz NOT NULL, price int4, symbol text NOT NULL, note text);
  INSERT INTO bar_spans
    SELECT timestamptz '1969-12-25 00:00:00+00' + ((g * 7919) % 20011) * interval '1 minute' + ((g * 104729) % 1000000) * interval '1 microsecond',
           g, (ARRAY['A', 'AB', 'ABC', 'Zürich ✓', 'B'])[1 + g % 5], NULL
      FROM generate_series(1, 20000) g;
  -- Exact half milliseconds on both sides of 1970, where rounding differs by sign.
  INSERT INTO bar_spans VALUES ('1970-01-01 00:00:00.0005+00', 1, 'half', NULL), ('1970-01-01 00:00:00.0025+00', 2, 'half', NULL),
    ('1969-12-31 23:59:59.9995+00', 3, 'negative half', NULL), ('1969-12-31 23:59:59.9985+00', 4, 'negative half', NULL);
`;

/** Per symbol of `table`: the figures the snapshot's bar coverage used to read with its own scan. */
async function sqlSpans(table: string): Promise<GroupSpan[]> {
  const { rows } = await client.query<{ group: string; first: string; last: string; rows: number }>(
    `SELECT symbol AS group, (extract(epoch FROM min(time)) * 1000)::bigint::text AS first,
            (extract(epoch FROM max(time)) * 1000)::bigint::text AS last, count(*)::int AS rows
       FROM ${pg.escapeIdentifier(table)} GROUP BY symbol`,
  );
  return bySymbol(rows.map((row) => ({ group: row.group, first: Number(row.first), last: Number(row.last), rows: row.rows })));
}

function bySymbol(spans: GroupSpan[]): GroupSpan[] {
  return [...spans].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}

/** Per column: SQL giving PostgreSQL's exact value as text, to compare the file against. */
const EXPECTED_SQL = `
  SELECT id::text, b::text, i2::text, i4::text, i8::text, f4::text, f8::text,
         n_small::text, n::text, n_wide::text, n_free::text,
         (extract(epoch FROM ts) * 1000000)::int8::text AS ts,
         (extract(epoch FROM tstz) * 1000000)::int8::text AS tstz,
         (d - date '1970-01-01')::text AS d,
         t, vc, bp, nm::text, u::text, j::text, jb::text, encode(by, 'hex') AS by, "Mixed ""Case"", col"
    FROM every_type ORDER BY id`;

let admin: pg.Client;
let client: pg.Client;
let workDir: string;

before(async () => {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set');
  admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${DATABASE}`);
  const testUrl = new URL(url);
  testUrl.pathname = `/${DATABASE}`;
  client = new pg.Client({ connectionString: testUrl.toString() });
  await client.connect();
  await client.query(SCHEMA_SQL);
  workDir = mkdtempSync(join(tmpdir(), 'parquet-export-'));
});

after(async () => {
  await client?.end();
  await admin?.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  await admin?.end();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

async function exportToFile(name: string, options: Partial<ExportOptions> & { table: string }): Promise<{ result: ExportResult; file: Buffer }> {
  const path = join(workDir, name);
  const result = await exportTable({ client, format: 'parquet', compression: 'snappy', out: createWriteStream(path), ...options });
  return { result, file: readFileSync(path) };
}

/** Decimal and timestamp columns come back raw (unscaled integers, micros) so nothing is rounded. */
async function readParquet(file: Buffer): Promise<{ metadata: FileMetaData; rows: Record<string, unknown>[] }> {
  const buffer = file.buffer.slice(file.byteOffset, file.byteOffset + file.length) as ArrayBuffer;
  const metadata = parquetMetadata(buffer);
  const raw: FileMetaData = {
    ...metadata,
    schema: metadata.schema.map((element): SchemaElement => {
      if (element.logical_type?.type !== 'DECIMAL') return element;
      const { converted_type: _converted, logical_type: _logical, ...rest } = element;
      return rest;
    }),
  };
  const rows = (await parquetReadObjects({
    file: buffer,
    metadata: raw,
    utf8: false,
    compressors: { GZIP: (input) => gunzipSync(input) },
    parsers: { timestampFromMicroseconds: (micros) => micros, dateFromDays: (days) => days },
  })) as Record<string, unknown>[];
  return { metadata, rows };
}

/** The value read from Parquet, as the same text EXPECTED_SQL produces. */
function asPgText(element: SchemaElement, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (element.logical_type?.type === 'DECIMAL') {
    const unscaled = typeof value === 'bigint' || typeof value === 'number' ? BigInt(value) : bigEndianSigned(value as Uint8Array);
    return decimalText(unscaled, element.logical_type.scale);
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (typeof value === 'number' && element.type === 'FLOAT') return float4Text(value);
  if (typeof value === 'number' && element.type === 'DOUBLE') return float8Text(value);
  return String(value);
}

function bigEndianSigned(bytes: Uint8Array): bigint {
  const unsigned = BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
  return BigInt.asIntN(bytes.length * 8, unsigned);
}

function decimalText(unscaled: bigint, scale: number): string {
  const digits = (unscaled < 0n ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return unscaled < 0n ? `-${text}` : text;
}

/** PostgreSQL prints floats as the shortest round-trip text with C-style exponents. */
function float8Text(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  if (Object.is(value, -0)) return '-0';
  return cStyle(String(value));
}
function float4Text(value: number): string {
  if (!Number.isFinite(value) || value === 0) return float8Text(value);
  for (let digits = 1; ; digits++) {
    const text = value.toPrecision(digits);
    if (Math.fround(Number(text)) === value) return cStyle(String(Number(text)));
  }
}
function cStyle(jsText: string): string {
  return jsText.replace(/e([+-])(\d)$/, 'e$10$2');
}

describe('exportTable to Parquet', () => {
  let expected: Record<string, string | null>[];
  before(async () => {
    expected = (await client.query(EXPECTED_SQL)).rows;
  });

  for (const compression of ['snappy', 'gzip', 'none'] as Compression[]) {
    it(`round-trips every supported type exactly (${compression})`, async () => {
      const progress: number[] = [];
      const { result, file } = await exportToFile(`every-${compression}.parquet`, {
        table: 'every_type',
        dateColumn: 'tstz',
        compression,
        onProgress: (rows) => progress.push(rows),
      });
      assert.equal(result.rows, 5);
      assert.equal(result.bytes, file.length);
      assert.equal(result.sha256, createHash('sha256').update(file).digest('hex'));
      assert.deepEqual(result.dateRange, ['1900-01-01', '2262-04-11']);
      assert.equal(progress.at(-1), 5);

      const { metadata, rows } = await readParquet(file);
      const elements = new Map(metadata.schema.slice(1).map((element) => [element.name, element]));
      const actual = rows.map((row) => Object.fromEntries(Object.entries(row).map(([name, value]) => [name, asPgText(elements.get(name)!, value)])));
      assert.deepEqual(actual, expected);
      const codec = metadata.row_groups[0].columns[0].meta_data?.codec;
      assert.equal(codec, { snappy: 'SNAPPY', gzip: 'GZIP', none: 'UNCOMPRESSED' }[compression]);
    });
  }

  it('declares Parquet logical types a pandas/pyarrow reader maps back to the PostgreSQL types', async () => {
    const { result, file } = await exportToFile('types.parquet', { table: 'every_type' });
    const { metadata } = await readParquet(file);
    const logical = Object.fromEntries(metadata.schema.slice(1).map((element) => [element.name, element.logical_type]));
    assert.deepEqual(logical.n, { type: 'DECIMAL', precision: 12, scale: 4 });
    assert.deepEqual(logical.n_small, { type: 'DECIMAL', precision: 9, scale: 2 });
    assert.deepEqual(logical.n_wide, { type: 'DECIMAL', precision: 38, scale: 10 });
    assert.deepEqual(logical.n_free, { type: 'STRING' });
    assert.deepEqual(logical.tstz, { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' });
    assert.deepEqual(logical.ts, { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' });
    assert.deepEqual(logical.d, { type: 'DATE' });
    assert.deepEqual(logical.i2, { type: 'INTEGER', bitWidth: 16, isSigned: true });
    for (const name of ['t', 'vc', 'bp', 'nm', 'u', 'j', 'jb']) assert.deepEqual(logical[name], { type: 'STRING' }, name);
    const physical = Object.fromEntries(metadata.schema.slice(1).map((element) => [element.name, element.type]));
    assert.deepEqual(
      [physical.b, physical.i4, physical.i8, physical.f4, physical.f8, physical.by],
      ['BOOLEAN', 'INT32', 'INT64', 'FLOAT', 'DOUBLE', 'BYTE_ARRAY'],
    );
    const id = metadata.schema.find((element) => element.name === 'id');
    assert.equal(id?.repetition_type, 'REQUIRED');

    const columns = Object.fromEntries(result.columns.map((column) => [column.name, column]));
    assert.deepEqual(columns.n, { name: 'n', pgType: 'numeric(12,4)', parquetType: 'DECIMAL(12,4)', nullable: true });
    assert.deepEqual(columns.n_free, { name: 'n_free', pgType: 'numeric', parquetType: 'STRING (exact numeric text)', nullable: true });
    assert.equal(columns.tstz.parquetType, 'TIMESTAMP(MICROS,UTC)');
    assert.equal(columns.ts.parquetType, 'TIMESTAMP(MICROS)');
    assert.equal(columns.id.nullable, false);
  });

  it('writes an unconstrained numeric as DECIMAL only when every value comes back as the same text', async () => {
    const { result, file } = await exportToFile('free.parquet', { table: 'free_numerics' });
    const types = Object.fromEntries(result.columns.map((column) => [column.name, column.parquetType]));
    assert.deepEqual(types, {
      id: 'STRING (exact numeric text)', // a key keeps one representation across versions
      same_scale: 'DECIMAL(6,2)',
      integers: 'DECIMAL(2,0)',
      mixed: 'STRING (exact numeric text)', // 1.5 and 1.25: a DECIMAL(3,2) would print 1.50
      with_nan: 'STRING (exact numeric text)',
      all_null: 'STRING (exact numeric text)',
      huge: 'STRING (exact numeric text)', // 41 digits
    });
    assert.ok(result.columns.every((column) => column.pgType === 'numeric'));
    const { metadata, rows } = await readParquet(file);
    const elements = new Map(metadata.schema.slice(1).map((element) => [element.name, element]));
    assert.deepEqual(elements.get('same_scale')!.logical_type, { type: 'DECIMAL', precision: 6, scale: 2 });
    const names = result.columns.map((column) => column.name);
    const expected = (await client.query<Record<string, string | null>>(`SELECT ${names.map((n) => `${n}::text`).join(', ')} FROM free_numerics ORDER BY id`)).rows;
    const actual = rows.map((row) => Object.fromEntries(names.map((name) => [name, asPgText(elements.get(name)!, row[name])])));
    assert.deepEqual(actual, expected);
  });

  it('writes byte-identical files for identical data', async () => {
    const first = await exportToFile('ticks-1.parquet', { table: 'ticks', dateColumn: 'time' });
    const second = await exportToFile('ticks-2.parquet', { table: 'ticks', dateColumn: 'time' });
    assert.equal(first.result.sha256, second.result.sha256);
    assert.ok(first.file.equals(second.file));
    assert.equal(first.result.rows, 200_000);
    assert.deepEqual(first.result.dateRange, ['2021-05-01', '2021-05-03']);
    const { metadata, rows } = await readParquet(first.file);
    assert.equal(metadata.num_rows, 200_000n);
    assert.ok(metadata.row_groups.length > 1, 'large tables are split into row groups');
    // Page boundaries follow batch boundaries, so only the rows are the same across batch sizes.
    const smallBatches = await exportToFile('ticks-3.parquet', { table: 'ticks', batchRows: 1000 });
    assert.deepEqual((await readParquet(smallBatches.file)).rows, rows);
  });

  it('sorts by the key; with order time_first its timestamp column first; or in the order asked for', async () => {
    const keyOrder = await exportToFile('ticks-order.parquet', { table: 'ticks' });
    assert.deepEqual(keyOrder.result.orderColumns, ['symbol', 'time']);
    const { rows } = await readParquet(keyOrder.file);
    assert.equal(rows.length, 200_000);
    const time = (row: Record<string, unknown>) => String(row.time).padStart(20, '0');
    const symbolKeys = rows.map((row) => `${row.symbol as string}|${time(row)}`);
    assert.deepEqual(symbolKeys, [...symbolKeys].sort());

    const timeFirst = await exportToFile('ticks-time-first.parquet', { table: 'ticks', order: 'time_first' });
    assert.deepEqual(timeFirst.result.orderColumns, ['time', 'symbol']);
    const timeKeys = (await readParquet(timeFirst.file)).rows.map((row) => `${time(row)}|${row.symbol as string}`);
    assert.deepEqual(timeKeys, [...timeKeys].sort());
    assert.notEqual(keyOrder.result.sha256, timeFirst.result.sha256);
    assert.ok(timeFirst.result.bytes < keyOrder.result.bytes, `time_first ${timeFirst.result.bytes} bytes, key ${keyOrder.result.bytes}`);
    const asked = await exportToFile('ticks-asked.parquet', { table: 'ticks', orderColumns: ['time', 'symbol'] });
    assert.deepEqual([asked.result.orderColumns, asked.result.sha256], [['time', 'symbol'], timeFirst.result.sha256]);

    const noTime = await exportToFile('every-order.parquet', { table: 'every_type', order: 'time_first' });
    assert.deepEqual(noTime.result.orderColumns, ['id']);
    await assert.rejects(exportToFile('ticks-bad-order.parquet', { table: 'ticks', orderColumns: ['time', 'price'] }), {
      name: 'InputError',
      message: 'cannot sort public.ticks by (time, price): its key is (symbol, time)',
    });
  });

  it('reads a heap in export order (time_first) through an index giving that order, one out of it by sequential scan and sort: same bytes', async () => {
    await client.query('CREATE INDEX ticks_time_symbol ON ticks (time, symbol)');
    // Scans of the table and of the (time, symbol) index by the export's COPY: the backend's not yet flushed counters, before and after.
    const scans = async () =>
      (await client.query<{ seq: number; idx: number }>(
        `SELECT pg_stat_get_xact_numscans('ticks'::regclass)::int AS seq, pg_stat_get_xact_numscans('ticks_time_symbol'::regclass)::int AS idx`,
      )).rows[0]!;
    const exportInTransaction = async (name: string) => {
      await client.query('BEGIN');
      try {
        const before = await scans();
        const { result } = await exportToFile(name, { table: 'ticks', order: 'time_first' });
        const after = await scans();
        const setting = await client.query<{ indexscan: string }>(`SELECT current_setting('enable_indexscan') AS indexscan`);
        return { sha256: result.sha256, seq: after.seq - before.seq, idx: after.idx - before.idx, indexscan: setting.rows[0]!.indexscan };
      } finally {
        await client.query('COMMIT');
      }
    };
    await client.query('ANALYZE ticks'); // ticks grew one second at a time, symbols interleaved: in (time, symbol) order
    const timeOrdered = await exportInTransaction('ticks-time-heap.parquet');
    assert.deepEqual({ seq: timeOrdered.seq, idx: timeOrdered.idx }, { seq: 0, idx: 1 }, `the index reads the heap in order: ${JSON.stringify(timeOrdered)}`);

    await client.query('CLUSTER ticks USING ticks_pkey'); // now in (symbol, time) order: time jumps back at every symbol
    await client.query('ANALYZE ticks');
    const keyOrdered = await exportInTransaction('ticks-key-heap.parquet');
    assert.deepEqual({ seq: keyOrdered.seq, idx: keyOrdered.idx }, { seq: 1, idx: 0 }, 'sequential scan, then sort');
    assert.equal(keyOrdered.indexscan, 'on', 'the session setting is put back');
    assert.equal(keyOrdered.sha256, timeOrdered.sha256);
    await client.query('DROP INDEX ticks_time_symbol');
  });

  it('exports a table without a key in physical order, and an empty table as a valid file', async () => {
    const noKey = await exportToFile('no-key.parquet', { table: 'no_key', schema: 'public' });
    assert.equal(noKey.result.rows, 1000);
    assert.equal((await readParquet(noKey.file)).rows.length, 1000);
    const empty = await exportToFile('empty.parquet', { table: 'empty_table', dateColumn: 'at' });
    assert.equal(empty.result.rows, 0);
    assert.equal(empty.result.dateRange, null);
    const { metadata, rows } = await readParquet(empty.file);
    assert.equal(rows.length, 0);
    assert.deepEqual(metadata.schema.slice(1).map((element) => element.name), ['id', 'at']);
  });

  it('keeps memory bounded by honouring a slow destination', async () => {
    const chunks: Buffer[] = [];
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk);
        setTimeout(done, 1);
      },
    });
    const result = await exportTable({ client, table: 'ticks', format: 'parquet', compression: 'snappy', out: slow });
    const file = Buffer.concat(chunks);
    assert.equal(result.sha256, createHash('sha256').update(file).digest('hex'));
    assert.equal((await readParquet(file)).rows.length, 200_000);
  });
});

describe('the restore loads an exported file back through its binary COPY encoder', () => {
  /** Each row as PostgreSQL prints it, in a stable order: numerics keep their scale, json its text. */
  async function rowTexts(table: string): Promise<string[]> {
    const { rows } = await client.query<{ row: string }>(`SELECT t::text AS row FROM ${pg.escapeIdentifier(table)} t ORDER BY 1`);
    return rows.map((r) => r.row);
  }

  // ticks: 200,000 rows in several batches; bar_spans: dictionary text with NULLs; no_key: plain text.
  for (const table of ['every_type', 'free_numerics', 'ticks', 'bar_spans', 'no_key']) {
    it(`${table} comes back equal, value for value`, async () => {
      const path = join(workDir, `load-${table}.parquet`);
      await exportTable({ client, table, format: 'parquet', compression: 'snappy', out: createWriteStream(path) });
      const layout = await describeTable(client, table, undefined, undefined);
      const staging = pg.escapeIdentifier(`loaded_${table}`);
      await client.query(`CREATE TABLE ${staging} (LIKE ${pg.escapeIdentifier(table)})`);
      try {
        const file = { paths: [path], format: 'parquet' as const, location: path, version: null, entry: null, cleanup: async () => {} };
        const rows = await loadIntoStaging({ client, layout, staging, file });
        assert.equal(rows, (await rowTexts(table)).length);
        assert.deepEqual(await rowTexts(`loaded_${table}`), await rowTexts(table));
      } finally {
        await client.query(`DROP TABLE ${staging}`);
      }
    });
  }

  it('encodes a slice of a batch as exactly those rows of the whole batch, into a reused buffer', async () => {
    const path = join(workDir, 'slice-every.parquet');
    await exportTable({ client, table: 'every_type', format: 'parquet', compression: 'snappy', out: createWriteStream(path) });
    const layout = await describeTable(client, 'every_type', undefined, undefined);
    const columns = parquetColumns(layout, (await parquetFileInfo(path)).fields, null, new Set());
    const batches = [];
    for await (const each of readParquetBatches(path, columns.map((c) => c.name))) batches.push(each);
    const [batch] = batches;
    assert.equal(batches.length, 1);
    const encoder = new CopyBinaryEncoder('every_type', columns);
    const fresh = encoder.encode(batch!, Buffer.alloc(0));
    const whole = fresh.buffer.subarray(0, fresh.end);
    // The pieces go through one buffer, grown for the first and overwritten by the next ones.
    let buffer: Buffer = Buffer.alloc(0);
    const pieces = [batch!.slice(0, 2), batch!.slice(2, 3), batch!.slice(3)].map((slice) => {
      const encoded = encoder.encode(slice, buffer);
      buffer = encoded.buffer;
      return Buffer.from(encoded.buffer.subarray(0, encoded.end));
    });
    assert.ok(pieces.every((piece) => piece.length > 0));
    assert.ok(Buffer.concat(pieces).equals(whole));
  });
});

describe('exportTable group spans', () => {
  const BAR_SPANS = { groupColumn: 'symbol', timeColumn: 'time' };

  for (const format of ['parquet', 'csv.gz'] as const) {
    it(`gives each group's rows and first and last time as SQL's group by does, from the rows it streams (${format})`, async () => {
      const { result } = await exportToFile(`bar-spans.${format}`, { table: 'bar_spans', format, dateColumn: 'time', groupSpans: BAR_SPANS });
      const expected = await sqlSpans('bar_spans');
      assert.equal(expected.length, 7);
      assert.deepEqual(bySymbol(result.groupSpans!), expected);
      const range = await client.query<{ from: string; to: string }>(
        `SELECT to_char(min(time) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS from, to_char(max(time) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS to FROM bar_spans`,
      );
      assert.deepEqual(result.dateRange, [range.rows[0]!.from, range.rows[0]!.to], 'the date range taps the same column');
    });
  }

  it('follows the export order of a keyed table, groups alternating row by row, and leaves the file unchanged', async () => {
    const plain = await exportToFile('ticks-plain.parquet', { table: 'ticks', order: 'time_first' });
    const tracked = await exportToFile('ticks-spans.parquet', { table: 'ticks', order: 'time_first', groupSpans: BAR_SPANS });
    assert.equal(plain.result.groupSpans, null);
    assert.equal(tracked.result.sha256, plain.result.sha256);
    assert.deepEqual(bySymbol(tracked.result.groupSpans!), await sqlSpans('ticks'));
  });
});

describe('exportTable to csv.gz', () => {
  it('writes the same values as CSV, with a header, NULL as empty and exact numerics', async () => {
    const { result, file } = await exportToFile('every.csv.gz', { table: 'every_type', format: 'csv.gz', dateColumn: 'd' });
    assert.equal(result.sha256, createHash('sha256').update(file).digest('hex'));
    assert.equal(result.bytes, file.length);
    assert.deepEqual(result.dateRange, ['0001-01-01', '2262-04-11']);
    const records = parseCsv(gunzipSync(file).toString('utf8'));
    const header = records.shift()!.map(String);
    const expected = await client.query<Record<string, string | null>>(`
      SELECT id::text, b::text, i2::text, i4::text, i8::text, f4::text, f8::text,
             n_small::text, n::text, n_wide::text, n_free::text,
             to_char(ts, 'YYYY-MM-DD"T"HH24:MI:SS.US') AS ts,
             to_char(tstz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS tstz,
             to_char(d, 'YYYY-MM-DD') AS d,
             t, vc, bp, nm::text, u::text, j::text, jb::text, by::text, "Mixed ""Case"", col"
        FROM every_type ORDER BY id`);
    assert.deepEqual(header, expected.fields.map((field) => field.name));
    const actual = records.map((record) =>
      Object.fromEntries(
        record.map((value, i) => {
          const name = header[i];
          if (name === 'f4' && value !== null) return [name, float4Text(Math.fround(Number(value)))];
          if (name === 'f8' && value !== null) return [name, float8Text(Number(value))];
          return [name, value];
        }),
      ),
    );
    assert.deepEqual(actual, expected.rows);
    // Empty string and NULL stay distinguishable.
    assert.equal(records[1][header.indexOf('t')], '');
    assert.equal(records[3][header.indexOf('t')], null);
  });

  it('writes at the gzip level asked for: the same CSV, smaller at 9 than at 1', async () => {
    const fast = await exportToFile('ticks-1.csv.gz', { table: 'ticks', format: 'csv.gz', gzipLevel: 1 });
    const small = await exportToFile('ticks-9.csv.gz', { table: 'ticks', format: 'csv.gz', gzipLevel: 9 });
    assert.ok(gunzipSync(fast.file).equals(gunzipSync(small.file)));
    assert.ok(small.file.length < fast.file.length, `level 9: ${small.file.length} bytes, level 1: ${fast.file.length}`);
  });
});

describe('exportTable errors', () => {
  it('names the table, column and type of an unsupported column before writing anything', async () => {
    let written = 0;
    const out = new Writable({ write: (chunk: Buffer, _encoding, done) => { written += chunk.length; done(); } });
    await assert.rejects(
      exportTable({ client, table: 'unsupported', format: 'parquet', compression: 'snappy', out }),
      (error: Error) => error instanceof InputError && /public\.unsupported/.test(error.message) && /"span" \(interval\)/.test(error.message) && /"tags" \(text\[\]\)/.test(error.message),
    );
    assert.equal(written, 0);
    assert.ok(out.destroyed);
  });

  it('names a table that does not exist', async () => {
    await assert.rejects(
      exportTable({ client, table: 'no_such_table', schema: 'public', format: 'parquet', compression: 'snappy', out: new Writable() }),
      (error: Error) => error instanceof InputError && /public\.no_such_table does not exist/.test(error.message),
    );
  });

  it('rejects a dateColumn that is missing or not a date', async () => {
    await assert.rejects(exportToFile('x.parquet', { table: 'ticks', dateColumn: 'nope' }), /dateColumn "nope" is not a column of table public\.ticks/);
    await assert.rejects(exportToFile('x.parquet', { table: 'ticks', dateColumn: 'price' }), /dateColumn "price" of table public\.ticks is numeric\(12,4\)/);
  });

  it('rejects group span columns that are missing, nullable or of another type', async () => {
    await assert.rejects(exportToFile('x.parquet', { table: 'ticks', groupSpans: { groupColumn: 'nope', timeColumn: 'time' } }), /groupColumn "nope" is not a column of table public\.ticks/);
    await assert.rejects(
      exportToFile('x.parquet', { table: 'every_type', groupSpans: { groupColumn: 't', timeColumn: 'tstz' } }),
      (error: Error) => error instanceof InputError && /groupColumn "t" of table public\.every_type is text \(nullable\); expected text NOT NULL/.test(error.message),
    );
    await assert.rejects(exportToFile('x.parquet', { table: 'ticks', groupSpans: { groupColumn: 'symbol', timeColumn: 'price' } }), /timeColumn "price" of table public\.ticks is numeric\(12,4\) \(nullable\); expected timestamp or timestamptz NOT NULL/);
  });

  it('fails on NaN in a DECIMAL column, naming table and column', async () => {
    await client.query(`CREATE TABLE nan_price (price numeric(12,4)); INSERT INTO nan_price VALUES (1), ('NaN')`);
    await assert.rejects(exportToFile('nan.parquet', { table: 'nan_price' }), /public\.nan_price, column "price" \(numeric\(12,4\)\) holds NaN/);
    assert.equal((await client.query('SELECT 1 AS ok')).rows[0].ok, 1, 'the client is usable afterwards');
  });

  it('stops the COPY when aborted and leaves the client usable', async () => {
    const abort = new AbortController();
    const out = new Writable({ write: (_chunk, _encoding, done) => done() });
    await assert.rejects(
      exportTable({ client, table: 'ticks', format: 'parquet', compression: 'snappy', out, batchRows: 1000, signal: abort.signal, onProgress: () => abort.abort() }),
      (error: Error) => error.name === 'AbortError',
    );
    assert.ok(out.destroyed);
    assert.equal((await client.query('SELECT 1 AS ok')).rows[0].ok, 1);
  });
});

/** RFC 4180 parser keeping NULL (empty unquoted) apart from the empty string (""). */
function parseCsv(text: string): (string | null)[][] {
  const records: (string | null)[][] = [];
  let record: (string | null)[] = [];
  let i = 0;
  while (i < text.length) {
    let value: string | null;
    if (text[i] === '"') {
      let end = i + 1;
      value = '';
      for (;;) {
        const quote = text.indexOf('"', end);
        value += text.slice(end, quote);
        if (text[quote + 1] === '"') {
          value += '"';
          end = quote + 2;
        } else {
          i = quote + 1;
          break;
        }
      }
    } else {
      let end = i;
      while (end < text.length && text[end] !== ',' && text[end] !== '\n') end++;
      value = end === i ? null : text.slice(i, end);
      i = end;
    }
    record.push(value);
    if (text[i] === ',') {
      i++;
      if (i === text.length || text[i] === '\n') record.push(null);
    }
    if (text[i] === '\n' || i >= text.length) {
      records.push(record);
      record = [];
      i++;
    }
  }
  return records;
}
