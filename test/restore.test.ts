import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { loadDemoData } from '../src/db/demo-data.js';
import type { Manifest } from '../src/domain/manifest.js';
import { connectClient } from '../src/temporal/connection.js';
import { verifySnapshot } from '../src/workflows/verify.js';
import { runCli } from './support/cli.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { holdLock, runRestore, sql, tableDigests, TABLES } from './support/restore.js';
import { runSnapshot } from './support/snapshot.js';
import { createBucket, testConfig, uniqueName, withWorker } from './support/stack.js';
import { tableRows } from './support/table-rows.js';

const ORDER_BY: Record<string, string> = {
  usdcop_m5_ohlcv: 'symbol, time',
  macro_indicators_daily: 'date',
  trades_history: 'id',
};

const cli = (env: Record<string, string>, args: string[]) => runCli(args, { ...env, SEEDVAULT_NO_LOCAL_STACK: '1', SEEDVAULT_LOG_LEVEL: 'warn' });

/** Names of the critical tables' constraints, indexes and sequences. */
async function schemaObjects(databaseUrl: string): Promise<string[]> {
  const { rows } = await sql(
    databaseUrl,
    `select 'constraint ' || conname as name from pg_constraint where conrelid = any($1::regclass[])
     union all select 'index ' || indexrelid::regclass from pg_index where indrelid = any($1::regclass[])
     union all select 'sequence ' || pg_get_serial_sequence('trades_history', 'id')
     order by 1`,
    [TABLES],
  );
  return rows.map((r) => r.name);
}

describe('restore of a seed snapshot', () => {
  let db: FreshDatabase;
  let env: Record<string, string>;
  let config: ReturnType<typeof testConfig>;
  let worker: Awaited<ReturnType<typeof withWorker>>;
  let manifest: Manifest;
  let original: Record<string, string>;
  const version = `${2100 + randomInt(7900)}.05.01`;

  before(async () => {
    db = await freshDatabase('restore');
    await loadDemoData(db.url, {});
    // Fees at one scale: the snapshot writes the unconstrained column as DECIMAL, which must restore as the same text.
    await sql(db.url, `update trades_history set fees = round(fees, 6)`);
    const bucket = uniqueName('restore');
    await createBucket(bucket);
    env = { DATABASE_URL: db.url, S3_BUCKET: bucket, SEEDVAULT_TASK_QUEUE: uniqueName('restore') };
    config = testConfig(env);
    worker = await withWorker(config);
    manifest = (await runSnapshot(config, { version })).manifest;
    original = await tableDigests(db.url);
  });
  after(async () => {
    await worker.stop();
    await db.drop();
  });

  test('round trip: truncated tables come back equal, numerics, nulls and timestamps included', async () => {
    const before = Object.fromEntries(await Promise.all(TABLES.map(async (t) => [t, await tableRows(db.url, t, manifest.tables[t]!.columns, ORDER_BY[t]!)] as const)));
    const schema = await schemaObjects(db.url);
    await sql(db.url, `truncate usdcop_m5_ohlcv, macro_indicators_daily, trades_history`);
    const result = await runRestore(config, { version });
    assert.match(manifest.tables.trades_history!.columns.find((c) => c.name === 'fees')!.parquet_type, /^DECIMAL\(\d+,6\)$/);
    assert.deepEqual(result.tables.map((t) => [t.table, t.status, t.source, t.version, t.rowsAfter]), TABLES.map((t) => [t, 'restored', 'minio', version, manifest.tables[t]!.rows]));
    // Each table's staging steps are timed, for whoever looks into a slow restore; each table (one object) downloads during its load.
    for (const t of result.tables) assert.deepEqual(Object.keys(t.stageSeconds ?? {}), ['download', 'download (during load)', 'load', 'validate', 'build indexes'], t.table);
    for (const table of TABLES) assert.deepEqual(await tableRows(db.url, table, manifest.tables[table]!.columns, ORDER_BY[table]!), before[table], table);
    assert.deepEqual(await tableDigests(db.url), original);
    assert.deepEqual(await schemaObjects(db.url), schema, 'the swapped-in tables keep their indexes, constraints and sequences');
    // The identity sequence continues after the restored ids.
    const { rows } = await sql(db.url, `insert into trades_history (symbol, side, quantity, price, strategy, opened_at) values ('USD/COP', 'buy', 1, 4000, 't', now()) returning id`);
    assert.equal(Number(rows[0].id), manifest.tables.trades_history!.rows + 1);
    await sql(db.url, `delete from trades_history where id = $1`, [rows[0].id]);
    const history = await sql(db.url, `select table_name, status, source, snapshot_version, rows_after::int from restore_history where status = 'restored' order by table_name`);
    assert.equal(history.rowCount, 3);
    const ready = await sql(db.url, `select records_available::int as n from ready_signals where signal_type = 'DATA_READY' and status = 'completed'`);
    assert.deepEqual(ready.rows.map((r) => r.n), [Object.values(manifest.tables).reduce((sum, t) => sum + t.rows, 0)]);
    const staging = await sql(db.url, `select count(*)::int as n from pg_tables where schemaname = 'seedvault_staging'`);
    assert.equal(staging.rows[0].n, 0, 'no staging table is left behind');
  });

  test('if-empty leaves a table with rows alone and fills the empty ones', async () => {
    await sql(db.url, `delete from usdcop_m5_ohlcv where time >= '2025-01-01'`);
    await sql(db.url, `truncate trades_history`);
    const kept = (await tableDigests(db.url)).usdcop_m5_ohlcv;
    const result = await runRestore(config, { version, mode: 'if-empty' });
    assert.deepEqual(result.tables.map((t) => [t.table, t.status]), [['usdcop_m5_ohlcv', 'skipped'], ['macro_indicators_daily', 'skipped'], ['trades_history', 'restored']]);
    const now = await tableDigests(db.url);
    assert.equal(now.usdcop_m5_ohlcv, kept);
    assert.equal(now.trades_history, original.trades_history);
  });

  test('merge upserts on the key: changed and missing rows come back, extra rows stay', async () => {
    await sql(db.url, `update usdcop_m5_ohlcv set close = low where time = (select min(time) from usdcop_m5_ohlcv)`);
    await sql(db.url, `insert into usdcop_m5_ohlcv (symbol, time, open, high, low, close) values ('TEST', '2030-01-01T13:00:00Z', 1, 1, 1, 1)`);
    const result = await runRestore(config, { version, mode: 'merge', tables: 'ohlcv' });
    assert.equal(result.tables[0]!.status, 'restored');
    await sql(db.url, `delete from usdcop_m5_ohlcv where symbol = 'TEST'`);
    assert.equal((await tableDigests(db.url)).usdcop_m5_ohlcv, original.usdcop_m5_ohlcv);
  });

  test('a table a view depends on is swapped by copying rows, and the view keeps working', async () => {
    await sql(db.url, `create view recent_macro as select date, vix from macro_indicators_daily where date > '2025-01-01'`);
    await sql(db.url, `delete from macro_indicators_daily where date > '2020-01-01'`);
    const result = await runRestore(config, { version, tables: 'macro' });
    assert.equal(result.tables[0]!.status, 'restored');
    assert.equal((await tableDigests(db.url)).macro_indicators_daily, original.macro_indicators_daily);
    assert.ok((await sql(db.url, `select count(*)::int as n from recent_macro`)).rows[0].n > 0);
    await sql(db.url, `drop view recent_macro`);
  });

  test('a lock another session holds on an unrelated table with a column default does not hold the restore back', async () => {
    await sql(db.url, `create table unrelated_locked (id int default 1)`);
    await sql(db.url, `delete from macro_indicators_daily where date > '2020-01-01'`);
    const lock = await holdLock(db.url, 'lock table unrelated_locked in access exclusive mode');
    try {
      const restored = runRestore(config, { version, tables: 'macro' });
      const outcome = await Promise.race([restored.then(() => 'done'), new Promise((r) => setTimeout(r, 60_000, 'still waiting after 60 s'))]);
      assert.equal(outcome, 'done');
    } finally {
      await lock.release();
      await sql(db.url, `drop table unrelated_locked`);
    }
    assert.equal((await tableDigests(db.url)).macro_indicators_daily, original.macro_indicators_daily);
  });

  test('with no snapshot anywhere, auto falls back to the source\'s CSV glob', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'seedvault-fallback-'));
    const { rows } = await sql(db.url, `select string_agg(format('%s,%s,%s', date, coalesce(dxy::text, ''), coalesce(vix::text, '')), E'\\n' order by date) as body from macro_indicators_daily`);
    await writeFile(join(dir, 'macro_2026.csv.gz'), gzipSync(`date,dxy,vix\n${rows[0].body}\n`));
    config.sources.macro!.fallback = [join(dir, 'macro_*.csv.gz')];
    await sql(db.url, `update macro_indicators_daily set vix = null`);
    const vix = await sql(db.url, `select count(vix)::int as n from macro_indicators_daily`);
    assert.equal(vix.rows[0].n, 0);
    const result = await runRestore(config, { version: '2001.01.01', path: dir, tables: 'macro' });
    const macro = result.tables[0]!;
    assert.deepEqual([macro.status, macro.source, macro.location], ['restored', 'fallback', join(dir, 'macro_2026.csv.gz')]);
    assert.deepEqual(macro.rejected.map((r) => r.source.split(' ')[0]), ['minio', 'local']);
    const back = await sql(db.url, `select count(*)::int as n, count(vix)::int as vix from macro_indicators_daily`);
    assert.equal(back.rows[0].n, manifest.tables.macro_indicators_daily!.rows);
    assert.ok(back.rows[0].vix > 0, 'the CSV values are in');
    config.sources.macro!.fallback = null;
    await runRestore(config, { version, tables: 'macro' });
    assert.equal((await tableDigests(db.url)).macro_indicators_daily, original.macro_indicators_daily);
  });

  test('seedvault verify checks objects and, with --against-db, the live tables', async () => {
    const ok = await cli(env, ['verify', '--version', version, '--against-db', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    const report = JSON.parse(ok.stdout);
    assert.equal(report.ok, true);
    assert.deepEqual(report.versions[0].tables.map((t: { table: string; db_facts: { rows: number } }) => [t.table, t.db_facts.rows]), TABLES.map((t) => [t, manifest.tables[t]!.rows]));
    await sql(db.url, `update macro_indicators_daily set vix = vix + 1 where date = (select max(date) from macro_indicators_daily)`);
    const drift = await cli(env, ['verify', '--version', version, '--against-db']);
    assert.equal(drift.code, 4);
    assert.match(drift.stderr, /macro_indicators_daily: contentHash/);
    await sql(db.url, `update macro_indicators_daily set vix = vix - 1 where date = (select max(date) from macro_indicators_daily)`);
  });

  test('the verifySnapshot workflow reports the same checks for schedules', async () => {
    const client = await connectClient(config);
    const results = await client.workflow.execute(verifySnapshot, { taskQueue: config.temporal.task_queue, workflowId: uniqueName(`verify-${version}`), args: [{ version, againstDb: true }] });
    assert.deepEqual(results.map((r) => [r.version, r.ok]), [[version, true]]);
  });

  test('bad flags are refused before any I/O, with exit code 2', async () => {
    const bad = { ...env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', TEMPORAL_ADDRESS: '127.0.0.1:1' };
    for (const args of [['restore', '--mode', 'wipe'], ['restore', '--source', 'ftp'], ['restore', '--version', '2026.02.30'], ['restore', '--tables', 'nope'], ['verify', '--version', 'x']]) {
      const { code, stderr } = await cli(bad, args);
      assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
    }
  });
});
