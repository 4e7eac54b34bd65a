import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { CLI } from '../bench/support.js';
import type { SnapshotDiff } from '../src/diff/snapshot-diff.js';
import { loadDemoData } from '../src/db/demo-data.js';
import type { TableDiff } from '../src/domain/snapshot-diff.js';
import { versionPrefix } from '../src/domain/version.js';
import { createStorage } from '../src/storage/index.js';
import { freshDatabase } from './support/db.js';
import { execFileAsync, runSnapshot, versionsOf } from './support/snapshot.js';
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
  const env = { DATABASE_URL: db.url, S3_BUCKET: bucket, SEEDVAULT_TASK_QUEUE: uniqueName(name), SEEDVAULT_NO_LOCAL_STACK: '1' };
  const config = testConfig(env);
  const worker = await withWorker(config);
  const sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  // Timestamps as the diff prints them.
  await sql.query(`set timezone = 'UTC'`);
  return { db, env, config, worker, sql, storage: createStorage(config.storage) };
}

function cli(env: Record<string, string>, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return execFileAsync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 120_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

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
  const [v1, v2, v3] = versionsOf(['02.01', '02.02', '02.03']) as [string, string, string];
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

  test('prints a per-table summary for people', async () => {
    const run = await cli(ctx.env, ['snapshot', 'diff', v1, v2, '--wait']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^diff ${v1.replaceAll('.', '\\.')} -> ${v2.replaceAll('.', '\\.')}\\n`));
    assert.match(run.stdout, /TABLE\s+STATUS\s+OLDER_ROWS\s+NEWER_ROWS\s+ADDED\s+REMOVED\s+CHANGED\s+SCHEMA/);
    assert.match(run.stdout, new RegExp(`${OHLCV}\\s+compared\\s+[\\d,]+\\s+[\\d,]+\\s+2\\s+3\\s+4\\s+same`));
    assert.match(run.stdout, /~ symbol=\S+ time=.+: volume: \d+ -> \d+/);
    assert.doesNotMatch(run.stdout, /^\{/m, 'no JSON on stdout');
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
