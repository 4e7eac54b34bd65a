import assert from 'node:assert/strict';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { diffParquetFiles, type SnapshotDiff } from '../src/diff/snapshot-diff.js';
import { loadDemoData } from '../src/db/demo-data.js';
import type { TableDiff } from '../src/domain/snapshot-diff.js';
import { MANIFEST_FILE } from '../src/domain/manifest.js';
import { versionPrefix } from '../src/domain/version.js';
import { exportTable } from '../src/parquet/export.js';
import { readManifest } from '../src/storage/seed-catalog.js';
import { createStorage } from '../src/storage/index.js';
import { runCli } from './support/cli.js';
import { freshDatabase } from './support/db.js';
import { runSnapshot, versionsOf } from './support/snapshot.js';
import { createBucket, testConfig, uniqueName, withWorker } from './support/stack.js';

const OHLCV = 'usdcop_m5_ohlcv';
const TRADES = 'trades_history';
const MACRO = 'macro_indicators_daily';

/** A database with demo data, a bucket and a worker of its own. */
async function setup(name: string) {
  const db = await freshDatabase(name);
  await loadDemoData(db.url, {});
  const bucket = uniqueName(name.replaceAll('_', '-'));
  await createBucket(bucket);
  // Key order, so that a version in time_first order can be set against one in key order.
  const env = { DATABASE_URL: db.url, S3_BUCKET: bucket, SEEDVAULT_TASK_QUEUE: uniqueName(name), SEEDVAULT_NO_LOCAL_STACK: '1', SEEDVAULT_EXPORT_ORDER: 'key' };
  const config = testConfig(env);
  const worker = await withWorker(config);
  const sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  // Timestamps as the diff prints them.
  await sql.query(`set timezone = 'UTC'`);
  return { db, env, config, worker, sql, storage: createStorage(config.storage) };
}

const cli = (env: Record<string, string>, args: string[]) => runCli(args, env, { timeoutMs: 120_000 });

async function diff(env: Record<string, string>, args: string[]): Promise<SnapshotDiff> {
  const run = await cli(env, ['snapshot', 'diff', ...args, '--wait', '--json']);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as SnapshotDiff;
}

function tableOf(result: SnapshotDiff, table: string): TableDiff {
  const found = result.tables.find((t) => t.table === table);
  assert.ok(found, `${table} missing from the diff`);
  return found;
}

describe('snapshot diff', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  const [v1, v2, v3, v4] = versionsOf(['02.01', '02.02', '02.03', '02.04']) as [string, string, string, string];
  /** What the changes between v1 and v2 were, read from the database as they were made. */
  const expected = {
    removedOhlcv: [] as { symbol: string; time: string }[],
    changedOhlcv: [] as { symbol: string; time: string; before: string; after: string }[],
    addedOhlcv: [] as { symbol: string; time: string }[],
    removedTrade: '',
    changedTrades: [] as { id: string; before: string; after: string }[],
  };

  before(async () => {
    ctx = await setup('snap_diff');
    await runSnapshot(ctx.config, { version: v1, pin: true });
    const q = async <T extends pg.QueryResultRow>(text: string) => (await ctx.sql.query<T>(text)).rows;
    // The first three rows in key order go, four later ones change, two new ones sort last.
    expected.removedOhlcv = await q(`delete from ${OHLCV} where (symbol, time) in (select symbol, time from ${OHLCV} order by symbol, time limit 3) returning symbol, time::text`);
    expected.changedOhlcv = await q(
      `with picked as (select symbol, time, volume from ${OHLCV} order by symbol, time offset 10 limit 4)
       update ${OHLCV} o set volume = o.volume + 7000000000 from picked p where o.symbol = p.symbol and o.time = p.time
       returning o.symbol, o.time::text, p.volume::text as before, o.volume::text as after`,
    );
    expected.addedOhlcv = await q(
      `insert into ${OHLCV} (symbol, time, open, high, low, close, volume)
       values ('ZZZ/TEST', '2030-01-01 00:00:00+00', 1, 2, 1, 1.5, 10), ('ZZZ/TEST', '2030-01-01 00:05:00.25+00', 1, 2, 1, 1.5, 10)
       returning symbol, time::text`,
    );
    expected.removedTrade = (await q<{ id: string }>(`delete from ${TRADES} where id = (select min(id) from ${TRADES}) returning id::text`))[0]!.id;
    expected.changedTrades = await q(
      `with picked as (select id, strategy from ${TRADES} order by id offset 5 limit 2)
       update ${TRADES} t set strategy = p.strategy || '-v2' from picked p where t.id = p.id returning t.id::text, p.strategy as before, t.strategy as after`,
    );
    for (const rows of [expected.removedOhlcv, expected.changedOhlcv, expected.addedOhlcv]) {
      rows.sort((a, b) => (JSON.stringify(Object.values(a)) < JSON.stringify(Object.values(b)) ? -1 : 1));
    }
    expected.changedTrades.sort((a, b) => Number(a.id) - Number(b.id));
    await runSnapshot(ctx.config, { version: v2, pin: true });
  });

  after(async () => {
    await ctx.sql.end();
    await ctx.worker.stop();
    await ctx.db.drop();
  });

  test('counts and samples the inserts, deletes and updates between two snapshots', async () => {
    const result = await diff(ctx.env, [v1, v2, '--limit', '3']);
    assert.deepEqual([result.older, result.newer], [v1, v2]);

    const ohlcv = tableOf(result, OHLCV);
    assert.equal(ohlcv.status, 'compared');
    assert.deepEqual([ohlcv.added, ohlcv.removed, ohlcv.changed], [2, 3, 4]);
    assert.equal(ohlcv.newerRows! - ohlcv.olderRows!, 2 - 3);
    assert.equal(ohlcv.schema, null);
    assert.deepEqual(ohlcv.samples.removed, expected.removedOhlcv);
    assert.deepEqual(ohlcv.samples.added, expected.addedOhlcv);
    assert.deepEqual(
      ohlcv.samples.changed,
      expected.changedOhlcv.slice(0, 3).map((c) => ({ key: { symbol: c.symbol, time: c.time }, columns: { volume: [c.before, c.after] } })),
      'the first --limit changes in key order, with the changed column only',
    );

    const trades = tableOf(result, TRADES);
    assert.deepEqual([trades.added, trades.removed, trades.changed], [0, 1, 2]);
    assert.deepEqual(trades.samples.removed, [{ id: expected.removedTrade }]);
    assert.deepEqual(
      trades.samples.changed,
      expected.changedTrades.map((c) => ({ key: { id: c.id }, columns: { strategy: [c.before, c.after] } })),
    );

    const macro = tableOf(result, MACRO);
    assert.equal(macro.status, 'identical', 'an untouched table has the same file');
    assert.deepEqual([macro.added, macro.removed, macro.changed], [0, 0, 0]);
  });

  test('versions with the same files diff as identical without reading them', async () => {
    await runSnapshot(ctx.config, { version: v3, pin: true });
    // Gone data files prove the diff never reads them: only the manifests' sha256 are compared.
    const objects = (await ctx.storage.list(versionPrefix(v3))).filter((o) => o.key.endsWith('.parquet'));
    assert.equal(objects.length, 3);
    await ctx.storage.delete(objects.map((o) => o.key));
    const result = await diff(ctx.env, [v2, v3]);
    assert.deepEqual(result.tables.map((t) => [t.table, t.status, t.added + t.removed + t.changed]).sort(), [
      [MACRO, 'identical', 0],
      [TRADES, 'identical', 0],
      [OHLCV, 'identical', 0],
    ].sort());
  });

  test('diffs a snapshot against the live tables, reporting a schema change and diffing the common columns', async () => {
    const untouched = await diff(ctx.env, [v2, 'db', '--tables', `${MACRO},${OHLCV}`]);
    assert.equal(untouched.newer, 'db');
    assert.deepEqual(untouched.tables.map((t) => [t.table, t.status]), [[MACRO, 'identical'], [OHLCV, 'identical']], 'an export of unchanged tables has the snapshot\'s sha256');

    await ctx.sql.query(`alter table ${TRADES} add column note text`);
    const { rows } = await ctx.sql.query<{ id: string }>(`update ${TRADES} set note = 'checked', is_paper = not is_paper where id = (select max(id) from ${TRADES}) returning id::text`);
    const result = await diff(ctx.env, [v2, 'db', '--tables', TRADES]);
    const trades = tableOf(result, TRADES);
    assert.equal(result.tables.length, 1);
    assert.equal(trades.status, 'compared');
    assert.deepEqual(trades.schema, { added: ['note'], removed: [], retyped: [] });
    assert.ok(!trades.compared.includes('note') && trades.compared[0] === 'id', trades.compared.join(','));
    assert.deepEqual([trades.added, trades.removed, trades.changed], [0, 0, 1]);
    assert.deepEqual(Object.keys(trades.samples.changed[0]!.columns), ['is_paper']);
    assert.deepEqual(trades.samples.changed[0]!.key, { id: rows[0]!.id });
  });

  test('a version in time_first order diffs against the live table in that order; against a version in key order it says why not', async () => {
    // A second symbol over the same times, so the two orders differ.
    await ctx.sql.query(
      `insert into ${OHLCV} (symbol, time, open, high, low, close, volume) select 'AAA/TEST', time, open, high, low, close, volume from ${OHLCV} order by time limit 3`,
    );
    await runSnapshot(ctx.config, { version: v4, pin: true, tables: OHLCV });
    const manifest = (await readManifest(ctx.storage, v4))!;
    const entry = manifest.tables[OHLCV]!;
    assert.deepEqual(entry.order_columns, ['symbol', 'time'], 'backup.export_order key, as setup sets it');
    // The version as backup.export_order time_first writes it.
    const dir = await mkdtemp(join(tmpdir(), 'seedvault-diff-order-'));
    try {
      const path = join(dir, 'bars.parquet');
      const timeFirst = await exportTable({ client: ctx.sql, table: OHLCV, format: 'parquet', compression: entry.compression, order: 'time_first', out: createWriteStream(path) });
      assert.notEqual(timeFirst.sha256, entry.sha256);
      await ctx.storage.put(`${versionPrefix(v4)}${entry.file}`, createReadStream(path));
      Object.assign(entry, { sha256: timeFirst.sha256, size_bytes: timeFirst.bytes, order_columns: timeFirst.orderColumns });
      await ctx.storage.put(`${versionPrefix(v4)}${MANIFEST_FILE}`, JSON.stringify(manifest));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const untouched = tableOf(await diff(ctx.env, [v4, 'db', '--tables', OHLCV]), OHLCV);
    assert.equal(untouched.status, 'identical', 'the live side is exported in the version\'s order: same bytes');

    const { rows } = await ctx.sql.query<{ symbol: string; time: string }>(
      `update ${OHLCV} set volume = volume + 1 where (symbol, time) = (select symbol, time from ${OHLCV} order by time desc, symbol limit 1) returning symbol, time::text`,
    );
    const changed = tableOf(await diff(ctx.env, [v4, 'db', '--tables', OHLCV]), OHLCV);
    assert.deepEqual([changed.status, changed.added, changed.removed, changed.changed], ['compared', 0, 0, 1]);
    assert.deepEqual(Object.keys(changed.samples.changed[0]!.key), ['time', 'symbol'], 'keys in the order the rows are sorted by');
    assert.deepEqual(changed.samples.changed[0]!.key, { symbol: rows[0]!.symbol, time: rows[0]!.time });

    // A version written before order_columns existed: its rows are in the live key's order.
    const legacy = (await readManifest(ctx.storage, v2))!;
    delete legacy.tables[OHLCV]!.order_columns;
    await ctx.storage.put(`${versionPrefix(v2)}${MANIFEST_FILE}`, JSON.stringify(legacy));
    const mixed = tableOf(await diff(ctx.env, [v2, v4, '--tables', OHLCV]), OHLCV);
    assert.equal(mixed.status, 'skipped');
    assert.equal(mixed.message, `${v2} has the rows of ${OHLCV} sorted by (symbol, time), ${v4} by (time, symbol): compare each with the database instead`);
  });

  test('prints a per-table summary for people', async () => {
    const run = await cli(ctx.env, ['snapshot', 'diff', v1, v2, '--wait']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^diff ${v1.replaceAll('.', '\\.')} -> ${v2.replaceAll('.', '\\.')}\\n`));
    assert.match(run.stdout, /TABLE\s+STATUS\s+OLDER_ROWS\s+NEWER_ROWS\s+ADDED\s+REMOVED\s+CHANGED\s+SCHEMA/);
    assert.match(run.stdout, new RegExp(`${OHLCV}\\s+compared\\s+[\\d,]+\\s+[\\d,]+\\s+2\\s+3\\s+4\\s+same`));
    assert.match(run.stdout, /~ symbol=\S+ time=.+: volume: \d+ -> \d+/, 'keys in the order the rows are sorted by');
    assert.doesNotMatch(run.stdout, /^\{/m, 'no JSON on stdout');
  });

  test('file diffs render every exported type as PostgreSQL prints it and order text keys by bytes', async () => {
    const columns = ['d', 'n', 'f', 'b', 'j', 'u', 's', 'ok', 't', 'big'];
    await ctx.sql.query(
      `create table diff_types (name text, at timestamptz, d date, n numeric(10,3), f float8, b bytea, j jsonb, u uuid, s smallint, ok boolean, t timestamp, big bigint,
                                primary key (name, at))`,
    );
    // Byte order: A < z < é < 日本 < 😀 (UTF-16 order would put 😀 before 日本).
    await ctx.sql.query(
      `insert into diff_types
       select name, timestamptz '1969-12-31 23:59:59.999999+00' + k * interval '1 day', date '1900-01-01' + k, -12.345 * k, 1.5 / (k + 1), '\\x00ff'::bytea,
              jsonb_build_object('k', k), md5(name)::uuid, -3 * k, k % 2 = 0, timestamp '1960-06-01 00:00:00.5' + k * interval '1 hour', -9000000000 * k
       from (select name, k::int as k from unnest(array['😀', 'z', 'é', 'A', '日本']) with ordinality as r(name, k)) as r`,
    );
    const textOf = async () =>
      new Map(
        (await ctx.sql.query<Record<string, string | null>>(`select name, at::text, ${columns.map((c) => `${c}::text`).join(', ')} from diff_types`)).rows.map((r) => [
          `${r.name}|${r.at}`,
          r,
        ]),
      );
    const dir = await mkdtemp(join(tmpdir(), 'seedvault-diff-types-'));
    try {
      const exportTo = async (name: string) => {
        const path = join(dir, name);
        await exportTable({ client: ctx.sql, table: 'diff_types', format: 'parquet', compression: 'snappy', out: createWriteStream(path) });
        return path;
      };
      const older = await exportTo('older.parquet');
      const before = await textOf();
      await ctx.sql.query(
        `update diff_types set d = d + 1, n = -n - 0.001, f = f * 3, b = '\\xdeadbeef', j = '{"x": [1, null]}', u = md5('x')::uuid, s = s - 1, ok = not ok,
                t = t - interval '1 microsecond', big = big + 1
         where name in ('é', '😀')`,
      );
      await ctx.sql.query(`update diff_types set n = null, b = null where name = 'A'`);
      const newer = await exportTo('newer.parquet');
      const after = await textOf();
      const tally = await diffParquetFiles('diff_types', [older], [newer], { key: ['name', 'at'], values: columns }, 10);
      assert.deepEqual([tally.added, tally.removed, tally.changed], [0, 0, 3]);
      const expectedChanges = ['A', 'é', '😀'].map((name) => {
        const key = [...before.keys()].find((k) => k.startsWith(`${name}|`))!;
        const [was, now] = [before.get(key)!, after.get(key)!];
        return {
          key: { name, at: was.at },
          columns: Object.fromEntries(columns.filter((c) => was[c] !== now[c]).map((c) => [c, [was[c], now[c]]])),
        };
      });
      assert.deepEqual(tally.samples.changed, expectedChanges);
      assert.deepEqual(Object.keys(tally.samples.changed[2]!.columns).sort(), [...columns].sort(), 'every column of the 😀 row changed');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a numeric written as DECIMAL in one version and as text in the next differs only where its text does', async () => {
    await ctx.sql.query(`create table diff_fees (id int primary key, fee numeric)`);
    await ctx.sql.query(`insert into diff_fees select k, round(k / 7.0, 2) from generate_series(1, 50) k`);
    const dir = await mkdtemp(join(tmpdir(), 'seedvault-diff-fees-'));
    try {
      const exportTo = async (name: string) => {
        const path = join(dir, name);
        const { columns } = await exportTable({ client: ctx.sql, table: 'diff_fees', format: 'parquet', compression: 'snappy', out: createWriteStream(path) });
        return { path, feeType: columns.find((c) => c.name === 'fee')!.parquetType };
      };
      const older = await exportTo('older.parquet');
      // One fee at another scale: the column can no longer be one DECIMAL and is written as text.
      await ctx.sql.query(`update diff_fees set fee = 0.5 where id = 7`);
      const newer = await exportTo('newer.parquet');
      assert.deepEqual([older.feeType, newer.feeType], ['DECIMAL(3,2)', 'STRING (exact numeric text)']);
      const tally = await diffParquetFiles('diff_fees', [older.path], [newer.path], { key: ['id'], values: ['fee'] }, 10);
      assert.deepEqual([tally.added, tally.removed, tally.changed], [0, 0, 1]);
      assert.deepEqual(tally.samples.changed, [{ key: { id: '7' }, columns: { fee: ['1.00', '0.5'] } }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('text keys sorted by a collation other than byte order fail loudly instead of giving a wrong diff', async () => {
    await ctx.sql.query(`create table icu_keys (name text collate "en-x-icu" primary key, v integer)`);
    await ctx.sql.query(`insert into icu_keys values ('a', 1), ('B', 2)`);
    const dir = await mkdtemp(join(tmpdir(), 'seedvault-diff-icu-'));
    try {
      const path = join(dir, 'icu.parquet');
      await exportTable({ client: ctx.sql, table: 'icu_keys', format: 'parquet', compression: 'snappy', out: createWriteStream(path) });
      await assert.rejects(
        diffParquetFiles('icu_keys', [path], [path], { key: ['name'], values: ['v'] }, 10),
        /table icu_keys: the older rows are not in strictly increasing key order \(\{"name":"a"\} then \{"name":"B"\}\); .*collation/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('bad versions, unknown tables and bad limits are one-line errors before any run starts', async () => {
    const cases: [string[], RegExp][] = [
      [[v1, '2026.13.01'], /^seedvault: <newer>: invalid snapshot version "2026\.13\.01"/],
      [['db', v1], /^seedvault: <older>: "db" may only be the newer side/],
      [['2099.01.01', v1], /^seedvault: <older>: snapshot 2099\.01\.01 not found or incomplete in /],
      [[v1, v2, '--tables', 'nope'], /^seedvault: --tables: unknown table "nope" \(in these versions: /],
      [[v1, v2, '--limit', '5000'], /^seedvault: --limit: "5000": expected a whole number from 0 to 1000/],
    ];
    for (const [args, message] of cases) {
      const run = await cli(ctx.env, ['snapshot', 'diff', ...args, '--wait']);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    }
  });
});
