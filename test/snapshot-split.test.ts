import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { readyWorker } from '../bench/support.js';
import { startSnapshot } from '../src/client/snapshot-create.js';
import { loadDemoData } from '../src/db/demo-data.js';
import { diffSnapshots } from '../src/diff/snapshot-diff.js';
import type { Manifest, ManifestTable } from '../src/domain/manifest.js';
import { verifyVersion } from '../src/restore/verify.js';
import { createStorage } from '../src/storage/index.js';
import { pruneVersions } from '../src/storage/seed-catalog.js';
import { connectClient } from '../src/temporal/connection.js';
import { freshDatabase } from './support/db.js';
import { withPyarrow } from './support/pyarrow.js';
import { activityStarts, killHolderWorker, killPartWorker, pidOf, verifyAgainstTable } from './support/split.js';
import { runRestore, sql, tableDigests } from './support/restore.js';
import { execFileAsync, versionsOf, withDownloadedVersion } from './support/snapshot.js';
import { createBucket, testConfig, uniqueName } from './support/stack.js';
import { parquetRows, tableRows } from './support/table-rows.js';

const BARS = 'usdcop_m5_ohlcv';

/**
 * Demo data whose bars table is bigger than split_rows, a bucket, and two worker processes
 * with two activity slots and one export slot each. Three exports may be scheduled at once,
 * one runs per worker, so both take parts.
 */
async function setup(name: string, scale: number, splitRows: number, extraEnv: Record<string, string> = {}) {
  const db = await freshDatabase(name);
  await loadDemoData(db.url, { scale });
  await sql(db.url, `analyze ${BARS}`);
  const bucket = uniqueName(name.replaceAll('_', '-'));
  await createBucket(bucket);
  const env = {
    DATABASE_URL: db.url,
    S3_BUCKET: bucket,
    SEEDVAULT_TASK_QUEUE: uniqueName(name),
    SEEDVAULT_SPLIT_ROWS: String(splitRows),
    SEEDVAULT_MAX_ACTIVITIES: '2',
    SEEDVAULT_EXPORT_PARALLELISM: '3',
    SEEDVAULT_MAX_EXPORTS: '1',
    ...extraEnv,
  };
  const config = testConfig(env);
  const client = await connectClient(config);
  const workers: ChildProcess[] = [];
  for (let i = 0; i < 2; i++) workers.push(await readyWorker(client, env, config.temporal.task_queue));
  const stop = async () => {
    for (const worker of workers) if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    await client.connection.close();
    await db.drop();
  };
  return { db, env, config, client, workers, storage: createStorage(config.storage), stop };
}

/** Every row of the table's parts, in part order. */
async function partRows(storage: ReturnType<typeof createStorage>, version: string, entry: ManifestTable) {
  return withDownloadedVersion(storage, version, async (dir) => {
    const rows = [];
    for (const part of entry.parts!) rows.push(...(await parquetRows(join(dir, part.file), entry.columns)));
    return rows;
  });
}

describe('a table bigger than backup.split_rows is exported in parts by several workers', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  let manifest: Manifest;
  let history: Awaited<ReturnType<typeof activityStarts>>;
  const [version, again] = versionsOf(['03.01', '03.02']) as [string, string];
  before(async () => {
    ctx = await setup('split_two', 1, 20_000, { SEEDVAULT_EXPORT_ORDER: 'time_first' });
    const handle = await startSnapshot(ctx.config, { version });
    manifest = (await handle.result()).manifest;
    history = await activityStarts(handle);
  });
  after(async () => {
    await ctx?.stop();
  });

  test('the manifest lists every part with its rows, key range, size and sha256, and the table totals', async () => {
    const entry = manifest.tables[BARS]!;
    const { rows } = await sql(ctx.db.url, `select count(*)::int as n, min(time) as first, max(time) as last from ${BARS}`);
    assert.equal(entry.file, `${BARS}/`);
    // Ranges of the key in export order (time_first here): time first, so each part is a stretch of time.
    assert.deepEqual(entry.key_columns, ['time', 'symbol']);
    assert.deepEqual(entry.order_columns, ['time', 'symbol']);
    assert.ok(entry.parts!.length >= 3, `${entry.parts!.length} parts of ${rows[0].n} rows`);
    assert.deepEqual(entry.parts!.map((p) => p.file), entry.parts!.map((_, i) => `${BARS}/part-0000${i}.parquet`));
    assert.equal(entry.rows, rows[0].n);
    assert.equal(entry.parts!.reduce((sum, p) => sum + p.rows, 0), rows[0].n);
    assert.ok(entry.parts!.every((p) => p.rows > 0 && p.rows < rows[0].n / 2), JSON.stringify(entry.parts!.map((p) => p.rows)));
    assert.equal(entry.size_bytes, entry.parts!.reduce((sum, p) => sum + p.size_bytes, 0));
    // The ranges chain: each part starts where the previous one ends, open at both ends.
    assert.equal(entry.parts![0]!.key_range.from, null);
    assert.equal(entry.parts!.at(-1)!.key_range.to, null);
    for (let i = 1; i < entry.parts!.length; i++) assert.deepEqual(entry.parts![i]!.key_range.from, entry.parts![i - 1]!.key_range.to);
    for (const part of entry.parts!) {
      const object = await ctx.storage.head(`v${version}/${part.file}`);
      assert.deepEqual([object?.size, object?.crc32], [part.size_bytes, part.crc32], part.file);
      // Each part holds exactly its key range.
      const { from, to } = part.key_range;
      const where = [from && `(time, symbol) >= ($1::timestamptz, $2)`, to && `(time, symbol) < ($${from ? 3 : 1}::timestamptz, $${from ? 4 : 2})`].filter(Boolean).join(' and ');
      const counted = await sql(ctx.db.url, `select count(*)::int as n from ${BARS}${where ? ` where ${where}` : ''}`, [...(from ?? []), ...(to ?? [])]);
      assert.equal(counted.rows[0].n, part.rows, part.file);
    }
    assert.equal(entry.coverage?.present_bars, rows[0].n);
    assert.deepEqual(entry.date_range, [rows[0].first.toISOString().slice(0, 10), rows[0].last.toISOString().slice(0, 10)]);
    // The small tables stay single files, from the same database snapshot.
    assert.equal(manifest.tables.macro_indicators_daily?.file, 'macro_indicators_daily.parquet');
    assert.equal(manifest.tables.macro_indicators_daily?.parts, undefined);
  });

  test('both workers exported parts, from one held database snapshot, each part once', () => {
    const parts = history.starts.filter((s) => s.activity === 'exportTablePart');
    assert.equal(history.scheduled.holdDatabaseSnapshot, 1);
    assert.equal(history.scheduled.exportTablePart, manifest.tables[BARS]!.parts!.length);
    assert.equal(parts.length, manifest.tables[BARS]!.parts!.length);
    assert.ok(parts.every((p) => p.attempt === 1 && p.input.snapshotId === parts[0]!.input.snapshotId));
    const pids = new Set(parts.map((p) => pidOf(p.identity)));
    assert.deepEqual([...pids].sort(), ctx.workers.map((w) => w.pid).sort(), `parts ran on ${[...pids].join(', ')}`);
  });

  test('exports run on the exports\' task queue, one at a time per worker (temporal.max_concurrent_exports 1)', () => {
    const exports = history.starts.filter((s) => s.activity === 'exportTablePart' || s.activity === 'exportTables');
    assert.ok(exports.every((s) => s.taskQueue === `${ctx.config.temporal.task_queue}-export`), JSON.stringify(exports.map((s) => s.taskQueue)));
    assert.ok(history.starts.filter((s) => !exports.includes(s)).every((s) => s.taskQueue === ctx.config.temporal.task_queue));
    let overlapping = 0;
    for (const worker of ctx.workers) {
      const own = exports.filter((s) => pidOf(s.identity) === worker.pid).sort((a, b) => a.startedAt - b.startedAt);
      for (let i = 1; i < own.length; i++) if (own[i]!.startedAt < own[i - 1]!.closedAt!) overlapping++;
    }
    // Three were scheduled at once with two slots in all: the third waited for the first to close.
    assert.equal(overlapping, 0, JSON.stringify(exports.map((s) => [pidOf(s.identity), s.startedAt, s.closedAt])));
  });

  test('the parts read back as the table, row for row, in export order', async () => {
    const entry = manifest.tables[BARS]!;
    assert.deepEqual(await partRows(ctx.storage, version, entry), await tableRows(ctx.db.url, BARS, entry.columns, 'time, symbol'));
  });

  test('checksums.sha256 lists every part and passes sha256sum -c; latest/ holds the parts', async () => {
    const parts = manifest.tables[BARS]!.parts!;
    const { stdout } = await withDownloadedVersion(ctx.storage, version, (dir) => execFileAsync('sha256sum', ['-c', 'checksums.sha256'], { cwd: dir }));
    for (const part of parts) assert.match(stdout, new RegExp(`^${part.file}: OK$`, 'm'));
    const latest = (await ctx.storage.list('latest/')).map((o) => o.key);
    for (const part of parts) assert.ok(latest.includes(`latest/${part.file}`), `latest/${part.file}`);
  });

  test('pyarrow reads the part folder as one dataset', async () => {
    const entry = manifest.tables[BARS]!;
    const script = 'import sys, pyarrow.dataset as ds; t = ds.dataset(sys.argv[1], format="parquet").to_table(); print(t.num_rows, ",".join(t.schema.names))';
    const printed = await withDownloadedVersion(ctx.storage, version, (dir) => withPyarrow((python) => python(['-c', script, join(dir, BARS)])));
    assert.equal(printed.trim(), `${entry.rows} ${entry.columns.map((c) => c.name).join(',')}`);
  });

  test('verify checks every part; restore loads the parts into the table; unchanged data gives byte-identical parts', async () => {
    const verified = await verifyVersion({ storage: ctx.storage, version });
    assert.ok(verified.ok, verified.problems.join('; '));
    const corrupt = manifest.tables[BARS]!.parts![1]!;
    const before = await tableDigests(ctx.db.url);
    await sql(ctx.db.url, `delete from ${BARS} where symbol = (select min(symbol) from ${BARS})`);
    const restored = await runRestore(ctx.config, { version, mode: 'replace' });
    assert.deepEqual(await tableDigests(ctx.db.url), before);
    // The parts loaded over backup.parallelism (3) connections; the single-file tables over one.
    assert.deepEqual(restored.tables.map((t) => [t.table, t.loadConnections]), [[BARS, 3], ['macro_indicators_daily', 1], ['trades_history', 1]]);

    const second = (await (await startSnapshot(ctx.config, { version: again })).result()).manifest;
    assert.deepEqual(second.tables[BARS]!.parts!.map((p) => p.sha256), manifest.tables[BARS]!.parts!.map((p) => p.sha256));
    assert.equal(second.tables[BARS]!.sha256, manifest.tables[BARS]!.sha256);
    // The restore rewrote the heap in another order: the bounds are the latest version's, not a new sample's.
    assert.deepEqual(second.tables[BARS]!.parts!.map((p) => p.key_range), manifest.tables[BARS]!.parts!.map((p) => p.key_range));

    // A damaged part is caught by verify, by name.
    await ctx.storage.put(`v${version}/${corrupt.file}`, 'not parquet', { contentType: 'application/octet-stream' });
    const damaged = await verifyVersion({ storage: ctx.storage, version });
    assert.equal(damaged.ok, false);
    assert.match(damaged.problems.join('\n'), new RegExp(`v${version}/${corrupt.file}: 11 bytes, the manifest says ${corrupt.size_bytes}`));
  });

  test('snapshot diff merge-joins the parts in export order', async () => {
    const pool = new pg.Pool({ connectionString: ctx.db.url });
    try {
      const same = await diffSnapshots({ storage: ctx.storage, pool, older: again, newer: again, tables: [BARS], limit: 5 });
      assert.equal(same.tables[0]?.status, 'identical');
      // One row changed and one removed, in different parts, against the live table.
      const bounds = manifest.tables[BARS]!.parts!.map((p) => p.key_range.to).filter((to) => to !== null);
      await sql(ctx.db.url, `update ${BARS} set high = high + 1 where (time, symbol) = ($1::timestamptz, $2)`, bounds[0]!);
      await sql(ctx.db.url, `delete from ${BARS} where (time, symbol) = ($1::timestamptz, $2)`, bounds.at(-1)!);
      const live = await diffSnapshots({ storage: ctx.storage, pool, older: again, newer: 'db', tables: [BARS], limit: 5 });
      assert.deepEqual([live.tables[0]?.status, live.tables[0]?.added, live.tables[0]?.removed, live.tables[0]?.changed], ['compared', 0, 1, 1]);
    } finally {
      await pool.end();
    }
  });

  test('prune deletes an old version with its part folder and keeps the latest one whole', async () => {
    const plan = await pruneVersions(ctx.storage, { count: 1, maxAgeDays: null, today: '2026-01-01' }, false, async () => false);
    assert.deepEqual(plan.delete.map((d) => d.version), [version]);
    assert.deepEqual((await ctx.storage.list(`v${version}/`)).map((o) => o.key), []);
    const kept = (await ctx.storage.list(`v${again}/${BARS}/`)).map((o) => o.key);
    assert.equal(kept.length, manifest.tables[BARS]!.parts!.length);
  });

  test('a snapshot of other tables only leaves the bars\' part bounds to the next snapshot of them', async () => {
    const [tradesOnly, barsAgain] = versionsOf(['03.03', '03.04']) as [string, string];
    await (await startSnapshot(ctx.config, { version: tradesOnly, tables: 'trades_history' })).result();
    const next = (await (await startSnapshot(ctx.config, { version: barsAgain, tables: BARS })).result()).manifest;
    // Bounds sampled anew from the restored heap would differ: these are those of the newest version holding the bars.
    assert.deepEqual(next.tables[BARS]!.parts!.map((p) => p.key_range), manifest.tables[BARS]!.parts!.map((p) => p.key_range));
  });
});

/** Rows, date range and a hash of every row's text of the version's bars equal the table's (compared in PostgreSQL). */
async function assertEqualToTable(ctx: Awaited<ReturnType<typeof setup>>, version: string, rows: number): Promise<void> {
  const verified = await verifyAgainstTable(ctx.storage, ctx.db.url, version, BARS, 'time');
  assert.ok(verified.ok, verified.problems.join('; '));
  assert.equal(verified.tables[0]?.file_facts?.rows, rows);
}

describe('a worker killed mid-part', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  const [version, second] = versionsOf(['03.03', '03.04']) as [string, string];
  before(async () => {
    ctx = await setup('split_kill', 10, 150_000);
  });
  after(async () => {
    await ctx?.stop();
  });

  test('reruns only the parts it was exporting, from the same database snapshot', async () => {
    const handle = await startSnapshot(ctx.config, { version, tables: BARS });
    const kill = async (worker: ChildProcess) => {
      worker.kill('SIGKILL');
      await once(worker, 'exit');
    };
    const { pid: victim, killed } = await killPartWorker(handle, ctx.workers, kill);
    assert.ok(killed.length >= 1);

    const manifest = (await handle.result()).manifest;
    const history = await activityStarts(handle);
    const parts = history.starts.filter((s) => s.activity === 'exportTablePart');
    const reruns = parts.filter((s) => s.attempt > 1);
    assert.equal(history.scheduled.holdDatabaseSnapshot, 1, 'the snapshot was held once');
    assert.equal(history.scheduled.exportTablePart, parts.length, 'each part was scheduled once');
    // Exactly the parts the dead worker was running ran again, on the other worker; every other part ran once.
    assert.deepEqual(reruns.map((r) => r.activityId).sort(), killed.sort());
    assert.ok(reruns.every((r) => r.attempt === 2 && pidOf(r.identity) !== victim));
    assert.ok(new Set(parts.map((p) => p.input.snapshotId)).size === 1);

    const entry = manifest.tables[BARS]!;
    assert.equal(parts.length, entry.parts!.length);
    await assertEqualToTable(ctx, version, entry.rows);
  });

  test('that holds the database snapshot: the export starts over from a new snapshot', async () => {
    ctx.workers.push(await readyWorker(ctx.client, ctx.env, ctx.config.temporal.task_queue));
    const handle = await startSnapshot(ctx.config, { version: second, tables: BARS });
    const { pid: holderPid } = await killHolderWorker(handle, ctx.workers, async (worker) => {
      worker.kill('SIGKILL');
      await once(worker, 'exit');
    });

    const manifest = (await handle.result()).manifest;
    const { scheduled, starts } = await activityStarts(handle);
    assert.equal(scheduled.holdDatabaseSnapshot, 2, 'a second snapshot was held');
    const entry = manifest.tables[BARS]!;
    const last = starts.filter((s) => s.activity === 'exportTablePart').slice(-entry.parts!.length);
    assert.equal(new Set(last.map((p) => p.input.snapshotId)).size, 1, 'the parts of the manifest come from one snapshot');
    assert.ok(last.every((p) => pidOf(p.identity) !== holderPid));
    await assertEqualToTable(ctx, second, entry.rows);
  });
});

describe('a split table in csv.gz, in key order (backup.export_order key)', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  const [version] = versionsOf(['03.05']) as [string];
  before(async () => {
    ctx = await setup('split_csv', 1, 20_000, { SEEDVAULT_BACKUP_FORMAT: 'csv.gz', SEEDVAULT_EXPORT_ORDER: 'key' });
  });
  after(async () => {
    await ctx?.stop();
  });

  test('is written as csv.gz parts, each with its header, and restores to the same rows', async () => {
    const manifest = (await (await startSnapshot(ctx.config, { version })).result()).manifest;
    const entry = manifest.tables[BARS]!;
    assert.ok(entry.parts!.length >= 3);
    assert.deepEqual(entry.parts!.map((p) => p.file), entry.parts!.map((_, i) => `${BARS}/part-0000${i}.csv.gz`));
    assert.deepEqual([entry.key_columns, entry.order_columns], [['symbol', 'time'], ['symbol', 'time']]);
    // Ranges of (symbol, time): the first part's end is a key of the table, symbol first.
    const [symbol, time] = entry.parts![0]!.key_range.to!;
    assert.equal((await sql(ctx.db.url, `select count(*)::int as n from ${BARS} where symbol = $1 and time = $2::timestamptz`, [symbol, time])).rows[0].n, 1);
    const headers = await withDownloadedVersion(ctx.storage, version, (dir) =>
      Promise.all(entry.parts!.map(async (p) => (await execFileAsync('sh', ['-c', `zcat "${join(dir, p.file)}" | head -1`])).stdout.trim())),
    );
    assert.deepEqual(new Set(headers), new Set([entry.columns.map((c) => c.name).join(',')]));
    const before = await tableDigests(ctx.db.url);
    await sql(ctx.db.url, `truncate ${BARS}`);
    const restored = await runRestore(ctx.config, { version, mode: 'replace', tables: BARS });
    assert.equal(restored.tables[0]?.loadConnections, 3);
    assert.deepEqual(await tableDigests(ctx.db.url), before);
  });
});
