/**
 * The export of a time-ordered heap read in time ranges (src/parquet/time-chunks.ts), against the
 * real server: the same bytes as one sorted read, for a whole table, a part of a split table and a
 * date-keyed table, and one read whenever ranges would not pay (no index to find them, the heap out
 * of time order, an index that already gives the order).
 */
import assert from 'node:assert/strict';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { Writable } from 'node:stream';
import { exportInThread } from '../src/parquet/export-in-thread.js';
import { exportTable, type ExportOptions, type ExportResult } from '../src/parquet/export.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';

// Bars as a live table gets them, time step by time step; the BRIN's small ranges let a time range
// of this small table be found without reading it all, as the default ranges do for a large one.
const SCHEMA_SQL = `
  CREATE TABLE bars (symbol text NOT NULL, time timestamptz NOT NULL, price numeric(12,4), UNIQUE (symbol, time));
  CREATE INDEX bars_time_brin ON bars USING brin (time) WITH (pages_per_range = 2);
  INSERT INTO bars
    SELECT 'S' || lpad(s::text, 2, '0'), timestamptz '2024-01-02 13:00:00+00' + t * interval '5 minutes', round(4000 + (t * 7 + s) % 500 / 3.0, 4)
      FROM generate_series(0, 1999) t, generate_series(1, 20) s ORDER BY t, s;

  CREATE TABLE daily (region text, day date, value int4, PRIMARY KEY (region, day));
  CREATE INDEX daily_day_brin ON daily USING brin (day) WITH (pages_per_range = 1);
  INSERT INTO daily SELECT r, date '2000-01-01' + d, d FROM generate_series(0, 9999) d, unnest(ARRAY['north', 'south']) r ORDER BY d, r;
  ANALYZE bars;
  ANALYZE daily;
`;

/** Sort memory small enough to cut these tables into many ranges. */
const SMALL_SORT = 16 << 10;

let db: FreshDatabase;
let client: pg.Client;
let workDir: string;

before(async () => {
  db = await freshDatabase('time_chunks', { migrated: false });
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(SCHEMA_SQL);
  workDir = mkdtempSync(join(tmpdir(), 'time-chunks-'));
});

after(async () => {
  await client?.end();
  await db?.drop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

let files = 0;
async function exportBars(options: Partial<ExportOptions> = {}): Promise<ExportResult> {
  return exportTable({ client, table: 'bars', format: 'parquet', compression: 'snappy', order: 'time_first', out: createWriteStream(join(workDir, `${files++}.parquet`)), ...options });
}

/** The session settings the ranged read changes while it runs. */
const readSettings = async () => (await client.query<{ work_mem: string; jit: string }>(`SELECT current_setting('work_mem') AS work_mem, current_setting('jit') AS jit`)).rows[0]!;

describe('export of a time-ordered heap in time ranges', () => {
  it('reads a table larger than one sort in ranges, giving the bytes of one sorted read, and puts work_mem and jit back', async () => {
    const before = await readSettings();
    // Batches of 1000 rows end inside ranges: page boundaries follow batches, so the bytes show they run across ranges.
    const one = await exportBars({ batchRows: 1000, dateColumn: 'time' });
    const ranged = await exportBars({ batchRows: 1000, dateColumn: 'time', sortChunkBytes: SMALL_SORT });
    assert.equal(one.reads, 1, 'the table fits the default sort memory');
    assert.ok(ranged.reads > 20, `read in ${ranged.reads} ranges`);
    assert.equal(ranged.rows, 40_000);
    assert.deepEqual([ranged.rows, ranged.sha256, ranged.dateRange], [one.rows, one.sha256, one.dateRange]);
    assert.deepEqual(await readSettings(), before);
  });

  it('reads a part of a split table in the ranges within its own bounds only', async () => {
    const keyRange = { from: ['2024-01-03 10:00:00+00', 'S07'], to: ['2024-01-06 09:30:00+00', 'S13'] };
    const one = await exportBars({ keyRange });
    const ranged = await exportBars({ keyRange, sortChunkBytes: SMALL_SORT });
    const whole = await exportBars({ sortChunkBytes: SMALL_SORT });
    assert.equal(one.reads, 1);
    const expected = await client.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM bars WHERE (time, symbol) >= ($1::timestamptz, $2) AND (time, symbol) < ($3::timestamptz, $4)`,
      [...keyRange.from, ...keyRange.to],
    );
    const share = expected.rows[0]!.count / whole.rows;
    // The table's ranges that hold the part's rows, plus the two it may start and end inside.
    assert.ok(ranged.reads > 1 && ranged.reads <= Math.ceil(whole.reads * share) + 2, `read in ${ranged.reads} ranges; the table in ${whole.reads}, the part holds ${share.toFixed(2)} of it`);
    assert.equal(ranged.rows, expected.rows[0]!.count);
    assert.equal(ranged.sha256, one.sha256);
  });

  it('reads a part bounded on one side only in ranges within that bound: every row of the part, once', async () => {
    const bound = ['2024-01-05 00:00:00+00', 'S10'];
    const head = await exportBars({ keyRange: { from: null, to: bound }, sortChunkBytes: SMALL_SORT });
    const tail = await exportBars({ keyRange: { from: bound, to: null }, sortChunkBytes: SMALL_SORT });
    const whole = await exportBars({ sortChunkBytes: SMALL_SORT });
    assert.ok(head.reads > 1 && tail.reads > 1, `read in ${head.reads} and ${tail.reads} ranges`);
    assert.ok(head.reads + tail.reads <= whole.reads + 2, `${head.reads} + ${tail.reads} ranges for the table's ${whole.reads}`);
    assert.equal(head.rows + tail.rows, whole.rows);
  });

  it('cuts the statistics\' buckets of a date column when one bucket is more than a range', async () => {
    const exportDaily = (sortChunkBytes?: number) =>
      exportTable({ client, table: 'daily', format: 'parquet', compression: 'snappy', order: 'time_first', sortChunkBytes, out: createWriteStream(join(workDir, `${files++}.parquet`)) });
    const one = await exportDaily();
    const ranged = await exportDaily(2 << 10);
    assert.equal(one.reads, 1);
    const buckets = await client.query<{ n: number }>(`SELECT cardinality(histogram_bounds::text::date[]) - 1 AS n FROM pg_stats WHERE tablename = 'daily' AND attname = 'day'`);
    assert.ok(ranged.reads > buckets.rows[0]!.n + 2, `${ranged.reads} ranges for ${buckets.rows[0]!.n} buckets`);
    assert.deepEqual([ranged.rows, ranged.sha256], [20_000, one.sha256]);
  });

  it('with a second reader in the same database snapshot, reads every other range on it: same bytes; an abort stops both', async () => {
    const expected = await exportBars({ sortChunkBytes: SMALL_SORT });
    const reader = new pg.Client({ connectionString: db.url });
    await reader.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const snapshot = (await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0]!.id;
      const openReader = async () => {
        await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        await reader.query(`SET TRANSACTION SNAPSHOT ${pg.escapeLiteral(snapshot)}`);
        return reader;
      };
      const both = await exportBars({ sortChunkBytes: SMALL_SORT, openReader });
      assert.deepEqual([both.reads, both.rows, both.sha256], [expected.reads, expected.rows, expected.sha256]);
      // The reader's own backend counts its scans of the BRIN within its transaction.
      const scans = await reader.query<{ n: number }>(`SELECT pg_stat_get_xact_numscans('bars_time_brin'::regclass)::int AS n`);
      assert.ok(scans.rows[0]!.n >= Math.floor(both.reads / 2), `${scans.rows[0]!.n} BRIN scans on the second reader for ${both.reads} ranges`);
      await client.query('ROLLBACK');
      await reader.query('ROLLBACK');

      const abort = new AbortController();
      const out = new Writable({ write: (_chunk, _encoding, done) => done() });
      await assert.rejects(
        exportTable({ client, table: 'bars', format: 'parquet', compression: 'snappy', order: 'time_first', sortChunkBytes: SMALL_SORT, out, batchRows: 500, openReader: async () => reader, signal: abort.signal, onProgress: (rows) => rows > 5000 && abort.abort() }),
        (error: Error) => error.name === 'AbortError',
      );
      assert.ok(out.destroyed);
      for (const used of [client, reader]) assert.equal((await used.query('SELECT 1 AS ok')).rows[0].ok, 1, 'both connections are usable afterwards');
    } finally {
      await reader.end();
    }
  });

  it('on its own thread, opens the second reader itself: the bytes of the in-process export', async () => {
    const expected = await exportBars({ sortChunkBytes: SMALL_SORT });
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const snapshotId = (await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0]!.id;
      const options = { table: 'bars', format: 'parquet', compression: 'snappy', order: 'time_first', sortChunkBytes: SMALL_SORT } as const;
      const threaded = await exportInThread({ connectionString: db.url, snapshotId, options }, createWriteStream(join(workDir, `${files++}.parquet`)));
      assert.deepEqual([threaded.reads, threaded.sha256], [expected.reads, expected.sha256]);
    } finally {
      await client.query('ROLLBACK');
    }
  });

  it('reads once when no index finds a range, when the heap is out of time order, or when an index gives the order', async () => {
    const expected = (await exportBars()).sha256;
    const readsWith = async (setup: string) => {
      await client.query(setup);
      await client.query('ANALYZE bars');
      const result = await exportBars({ sortChunkBytes: SMALL_SORT });
      assert.equal(result.sha256, expected, setup);
      return result.reads;
    };
    assert.equal(await readsWith('DROP INDEX bars_time_brin'), 1, 'no index on time');
    assert.equal(await readsWith('CREATE INDEX bars_time_symbol ON bars (time, symbol)'), 1, 'the index gives the order');
    assert.ok((await readsWith('DROP INDEX bars_time_symbol; CREATE INDEX bars_time_brin ON bars USING brin (time) WITH (pages_per_range = 2)')) > 1, 'back to ranges');
    assert.equal(await readsWith('CLUSTER bars USING bars_symbol_time_key'), 1, 'heap in (symbol, time) order');
  });
});
