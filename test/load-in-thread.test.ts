/**
 * loadInThread against a real PostgreSQL (DATABASE_URL, a role that may create databases):
 * the thread creates the staging table, loads a Parquet file into it and commits, or leaves
 * nothing behind and hands the failure over as the activity expects it (seedvault's error
 * class, PostgreSQL's SQLSTATE code); the facts it gathers from a Parquet file's batches are
 * the ones a scan of the staging table gives.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { IntegrityError } from '../src/errors.js';
import { exportTable } from '../src/parquet/export.js';
import { describeTable } from '../src/parquet/table-catalog.js';
import { columnsWithDefaults } from '../src/restore/compatibility.js';
import { loadInThread } from '../src/restore/load-in-thread.js';
import type { SourceFile } from '../src/restore/source-file.js';
import { scanStagedFacts } from '../src/restore/validate.js';

const DATABASE = `test_load_thread_${randomBytes(5).toString('hex')}`;
const ROWS = 200_000;

let admin: pg.Client;
let client: pg.Client;
let url: string;
let workDir: string;
let file: SourceFile;

before(async () => {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) throw new Error('DATABASE_URL is not set');
  admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${DATABASE}`);
  const testUrl = new URL(adminUrl);
  testUrl.pathname = `/${DATABASE}`;
  url = testUrl.toString();
  client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`
    CREATE TABLE bars (symbol text NOT NULL, time timestamptz NOT NULL, price numeric(12,4) NOT NULL CHECK (price > 0), PRIMARY KEY (symbol, time));
    INSERT INTO bars SELECT 'S' || (g % 7), timestamptz '2021-05-01 00:00:00+00' + g * interval '1 minute', 1 + (g % 100000) / 7.0 FROM generate_series(1, ${ROWS}) g;
    CREATE TABLE dear_bars (LIKE bars INCLUDING ALL, CHECK (price > 10000));
    CREATE TABLE ids (id int4 NOT NULL);
    -- A date column with NULLs, rows whose data columns are all NULL, a column with a default (not data).
    CREATE TABLE sparse (id int4 PRIMARY KEY, day date, a numeric(10,2), b text, note text DEFAULT 'x');
    INSERT INTO sparse SELECT g, CASE WHEN g % 5 = 0 THEN NULL ELSE date '1969-12-25' + g END,
      CASE WHEN g % 3 = 0 THEN NULL ELSE g / 4.0 END, CASE WHEN g % 3 = 0 OR g % 7 = 0 THEN NULL ELSE 'b' || g END, NULL
      FROM generate_series(1, 100000) g;
    -- Timestamps without time zone on both sides of 1970 (negative micros).
    CREATE TABLE naive (id int4 PRIMARY KEY, at timestamp NOT NULL, v float8);
    INSERT INTO naive SELECT g, timestamp '1969-12-31 23:00:00' + (g - 50000) * interval '17 minutes', CASE WHEN g % 2 = 0 THEN g END FROM generate_series(1, 100000) g;
  `);
  workDir = mkdtempSync(join(tmpdir(), 'load-thread-'));
  const path = join(workDir, 'bars.parquet');
  await exportTable({ client, table: 'bars', format: 'parquet', compression: 'snappy', out: createWriteStream(path) });
  file = { paths: [path], format: 'parquet', location: path, version: null, entry: null, cleanup: async () => {} };
});

after(async () => {
  await client?.end();
  await admin?.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  await admin?.end();
  rmSync(workDir, { recursive: true, force: true });
});

async function exists(table: string): Promise<boolean> {
  return (await client.query<{ t: string | null }>(`SELECT to_regclass($1) AS t`, [table])).rows[0]!.t !== null;
}

describe('loadInThread', () => {
  it('creates the staging table, loads every row and commits it, reporting progress on the way', async () => {
    const progress: number[] = [];
    const layout = await describeTable(client, 'bars', undefined, 'time');
    const { rows } = await loadInThread({ connectionString: url, layout, staging: 'bars_staged', kind: 'twin', file }, (n) => progress.push(n));
    assert.equal(rows, ROWS);
    // Another connection sees it: committed, not left in the thread's transaction.
    const differences = await client.query(`SELECT count(*)::int AS n FROM ((TABLE bars EXCEPT TABLE bars_staged) UNION ALL (TABLE bars_staged EXCEPT TABLE bars)) d`);
    assert.equal(differences.rows[0].n, 0);
    assert.equal((await client.query(`SELECT count(*)::int AS n FROM bars_staged`)).rows[0].n, ROWS);
    assert.ok(progress.length >= 2, `progress reported ${progress.length} times`);
    assert.deepEqual([...progress].sort((a, b) => a - b), progress);
    assert.equal(progress.at(-1), ROWS);
  });

  for (const [table, dateColumn] of [['bars', 'time'], ['sparse', 'day'], ['naive', 'at']] as const) {
    it(`gathers the rows, date range and empty-row share a scan of the staged table gives (${table}, date column ${dateColumn})`, async () => {
      const path = join(workDir, `${table}.parquet`);
      await exportTable({ client, table, format: 'parquet', compression: 'snappy', out: createWriteStream(path) });
      const layout = await describeTable(client, table, undefined, dateColumn);
      const loaded = await loadInThread({ connectionString: url, layout, staging: `${table}_facts`, kind: 'plain', file: { ...file, paths: [path], location: path } });
      const scanned = await scanStagedFacts(client, `${table}_facts`, layout, await columnsWithDefaults(client, layout.sql));
      assert.ok(loaded.facts, 'a Parquet load gathers facts');
      assert.equal(loaded.facts.rows, scanned.rows);
      assert.deepEqual(loaded.facts.dateRange, scanned.dateRange);
      assert.ok(scanned.dateRange);
      assert.ok(Math.abs(loaded.facts.emptyRowRatio - scanned.emptyRowRatio) < 1e-12, `${loaded.facts.emptyRowRatio} vs ${scanned.emptyRowRatio}`);
      if (table === 'sparse') assert.ok(scanned.emptyRowRatio > 0.3, `${scanned.emptyRowRatio}`);
    });
  }

  it("hands over PostgreSQL's rejection with its SQLSTATE, and leaves no staging table", async () => {
    const layout = await describeTable(client, 'dear_bars', undefined, 'time');
    await assert.rejects(
      loadInThread({ connectionString: url, layout, staging: 'dear_staged', kind: 'plain', file }),
      (err: Error & { code?: string }) => err.code === '23514' && /check constraint/.test(err.message),
    );
    assert.equal(await exists('dear_staged'), false);
  });

  it('hands over an incompatible file as an IntegrityError naming the table, and leaves no staging table', async () => {
    const layout = await describeTable(client, 'ids', undefined, undefined);
    await assert.rejects(
      loadInThread({ connectionString: url, layout, staging: 'ids_staged', kind: 'plain', file }),
      (err: Error) => err instanceof IntegrityError && /incompatible with public\.ids/.test(err.message),
    );
    assert.equal(await exists('ids_staged'), false);
  });

  it('fails on a file that is not there, leaving no staging table', async () => {
    const layout = await describeTable(client, 'bars', undefined, 'time');
    const missing = { ...file, paths: [join(workDir, 'missing.parquet')] };
    await assert.rejects(loadInThread({ connectionString: url, layout, staging: 'missing_staged', kind: 'plain', file: missing }), /missing\.parquet/);
    assert.equal(await exists('missing_staged'), false);
  });
});
