import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { exportTable } from '../src/parquet/export.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { execFileAsync } from './support/snapshot.js';

const ROWS = 3_600_000;
const PAYLOAD_CHARS = 120;
/**
 * Peak RSS growth allowed while diffing: about what the restore's Parquet reader needs for a
 * row group of each side (its wasm memory and Arrow copies; measured 190-230 MiB here,
 * whatever the row count). The two sides hold three times this in Arrow form.
 */
const BOUND_MIB = 320;
const CHILD = fileURLToPath(new URL('./support/diff-files.js', import.meta.url));

let db: FreshDatabase;
let sql: pg.Client;
let dir: string;

before(async () => {
  db = await freshDatabase('snap_diff_memory', { migrated: false });
  sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  dir = await mkdtemp(join(tmpdir(), 'seedvault-diff-memory-'));
});

after(async () => {
  await sql.end();
  await db.drop();
  await rm(dir, { recursive: true, force: true });
});

async function exportTo(path: string): Promise<number> {
  return (await exportTable({ client: sql, table: 'wide_rows', format: 'parquet', compression: 'snappy', out: createWriteStream(path) })).rows;
}

test('diffing a table several times larger than the bound keeps peak RSS growth under it', async () => {
  await sql.query(`create table wide_rows (id bigint primary key, n integer not null, payload text not null)`);
  await sql.query(`insert into wide_rows select i, i % 1000, repeat('x', ${PAYLOAD_CHARS}) || i from generate_series(1, ${ROWS}) as i`);
  const older = join(dir, 'older.parquet');
  const newer = join(dir, 'newer.parquet');
  assert.equal(await exportTo(older), ROWS);
  await sql.query(`delete from wide_rows where id % 1000 = 0`);
  await sql.query(`update wide_rows set n = n + 1 where id % 777 = 0`);
  await sql.query(`insert into wide_rows select i, 0, 'new' || i from generate_series(${ROWS + 1}, ${ROWS + 500}) as i`);
  await exportTo(newer);

  const { stdout } = await execFileAsync(process.execPath, [CHILD, older, newer, 'id', 'n,payload'], { maxBuffer: 1 << 20 });
  const result = JSON.parse(stdout) as { added: number; removed: number; changed: number; baselineKiB: number; peakKiB: number };
  const multiplesOf = (n: number) => Math.floor(ROWS / n);
  assert.deepEqual([result.added, result.removed, result.changed], [500, multiplesOf(1000), multiplesOf(777) - Math.floor(ROWS / (777 * 1000))]);

  const growthMiB = (result.peakKiB - result.baselineKiB) / 1024;
  // Both sides' values as Arrow buffers (payload bytes and offsets, id, n), what loading them would cost at the least.
  const arrowMiB = (2 * ROWS * (PAYLOAD_CHARS + 7 + 4 + 8 + 4)) / (1 << 20);
  assert.ok(arrowMiB >= 3 * BOUND_MIB, `the table (${arrowMiB.toFixed(0)} MiB as Arrow) must be several times the bound`);
  assert.ok(growthMiB < BOUND_MIB, `peak RSS grew ${growthMiB.toFixed(0)} MiB diffing ${arrowMiB.toFixed(0)} MiB of rows (bound ${BOUND_MIB} MiB)`);
  process.stdout.write(`# diff of 2 x ${ROWS} rows: peak RSS +${growthMiB.toFixed(0)} MiB (rows: ${arrowMiB.toFixed(0)} MiB as Arrow)\n`);
});
