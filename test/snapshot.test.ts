import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { activityRuns, CLI } from '../bench/support.js';
import { loadDemoData } from '../src/db/demo-data.js';
import { MANIFEST_FILE, RESERVATION_MARKER, type Manifest } from '../src/domain/manifest.js';
import { versionPrefix } from '../src/domain/version.js';
import { createStorage } from '../src/storage/index.js';
import { listVersions, pruneVersions, readLatestVersion } from '../src/storage/seed-catalog.js';
import { setPinned } from '../src/storage/pin.js';
import type { Storage } from '../src/storage/types.js';
import { connectClient, isWorkflowRunning } from '../src/temporal/connection.js';
import { startSnapshot } from '../src/client/snapshot-create.js';
import { seedSnapshot } from '../src/workflows/snapshot.js';
import { freshDatabase } from './support/db.js';
import { holdLock, waitForLockWaiter } from './support/restore.js';
import { execFileAsync, runSnapshot, versionsOf, withDownloadedVersion } from './support/snapshot.js';
import { createBucket, testConfig, uniqueName, withWorker } from './support/stack.js';
import { parquetRows, tableRows } from './support/table-rows.js';

/** A database with demo data, a bucket and a worker of its own. */
async function setup(name: string) {
  const db = await freshDatabase(name);
  await loadDemoData(db.url, {});
  const bucket = uniqueName(name.replaceAll('_', '-'));
  await createBucket(bucket);
  const env = { DATABASE_URL: db.url, S3_BUCKET: bucket, SEEDVAULT_TASK_QUEUE: uniqueName(name) };
  const config = testConfig(env);
  const worker = await withWorker(config);
  return { db, env, config, worker, storage: createStorage(config.storage) };
}

const ORDER_BY: Record<string, string> = {
  usdcop_m5_ohlcv: 'symbol, time',
  macro_indicators_daily: 'date',
  trades_history: 'id',
};

describe('seed snapshot of demo data', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  let manifest: Manifest;
  const [version] = versionsOf(['01.22']) as [string];
  before(async () => {
    ctx = await setup('snap_layout');
    manifest = (await runSnapshot(ctx.config, { version })).manifest;
  });
  after(async () => {
    await ctx.worker.stop();
    await ctx.db.drop();
  });

  test('writes the seed 002 layout, then latest/ and LATEST_VERSION', async () => {
    const keys = (await ctx.storage.list('')).map((o) => o.key);
    const files = ['usdcop_m5_ohlcv.parquet', 'macro_indicators_daily.parquet', 'trades_history.parquet', 'manifest.json', 'checksums.sha256'];
    for (const file of files) {
      assert.ok(keys.includes(`v${version}/${file}`), `v${version}/${file} missing`);
      assert.ok(keys.includes(`latest/${file}`), `latest/${file} missing`);
    }
    assert.equal(await readLatestVersion(ctx.storage), version);
    assert.equal(await ctx.storage.getText('latest/manifest.json'), await ctx.storage.getText(`v${version}/manifest.json`));
  });

  test('checksums.sha256 passes sha256sum -c', async () => {
    const { stdout } = await withDownloadedVersion(ctx.storage, version, (dir) => execFileAsync('sha256sum', ['-c', 'checksums.sha256'], { cwd: dir }));
    assert.equal(stdout.trim().split('\n').filter((l) => l.endsWith(': OK')).length, 3, stdout);
  });

  test('the manifest matches the tables and records the database snapshot', async () => {
    const client = new pg.Client({ connectionString: ctx.db.url });
    await client.connect();
    try {
      for (const [table, entry] of Object.entries(manifest.tables)) {
        const { rows } = await client.query(`select count(*)::int as n from ${pg.escapeIdentifier(table)}`);
        assert.equal(entry.rows, rows[0].n, table);
        assert.match(entry.sha256, /^[0-9a-f]{64}$/);
        const stored = (await ctx.storage.head(`v${version}/${entry.file}`))!;
        assert.deepEqual([entry.size_bytes, entry.crc32], [stored.size, stored.crc32], 'the CRC32 MinIO checked is the export\'s');
      }
      const { rows } = await client.query(`select min(time) at time zone 'UTC' as lo, max(time) at time zone 'UTC' as hi from usdcop_m5_ohlcv`);
      const iso = (d: Date) => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 10);
      assert.deepEqual(manifest.tables.usdcop_m5_ohlcv!.date_range, [iso(rows[0].lo), iso(rows[0].hi)]);
    } finally {
      await client.end();
    }
    assert.equal(manifest.tables.trades_history!.date_range, null);
    assert.equal(manifest.version, version);
    assert.equal(manifest.compatibility.postgres_version, '15');
    assert.match(manifest.consistency.txid_snapshot, /^\d+:\d+:/);
    assert.match(manifest.consistency.wal_lsn, /^[0-9A-F]+\/[0-9A-F]+$/);
    assert.match(manifest.compatibility.schema_migration ?? '', /^\d+_/);
    const close = manifest.tables.usdcop_m5_ohlcv!.columns.find((c) => c.name === 'close')!;
    assert.deepEqual([close.pg_type, close.parquet_type], ['numeric(12,4)', 'DECIMAL(12,4)']);
  });

  test('an independent Parquet reader gets every table back row for row', async () => {
    await withDownloadedVersion(ctx.storage, version, async (dir) => {
      for (const [table, entry] of Object.entries(manifest.tables)) {
        const fromFile = await parquetRows(join(dir, entry.file), entry.columns);
        const fromDb = await tableRows(ctx.db.url, table, entry.columns, ORDER_BY[table]!);
        assert.equal(fromFile.length, fromDb.length, table);
        assert.deepEqual(fromFile, fromDb, table);
      }
    });
  });

  test('the same data gives byte-identical files in the next version', async () => {
    const second = await runSnapshot(ctx.config, {});
    assert.match(second.version, /^\d{4}\.\d{2}\.\d{2}$/);
    for (const [table, entry] of Object.entries(second.manifest.tables)) {
      assert.equal(entry.sha256, manifest.tables[table]!.sha256, table);
    }
    const again = await runSnapshot(ctx.config, {});
    assert.equal(again.version, `${second.version}-2`, 'a second snapshot on the same day gets a suffix');

    // A racing run claims the CLI's guess for today between its listing and its start. The
    // racer stays RUNNING (its task queue has no worker), so its reservation must survive prune.
    const guess = `${second.version}-3`;
    const client = await connectClient(ctx.config);
    const racer = await client.workflow.start(seedSnapshot, { taskQueue: uniqueName('no-worker'), workflowId: uniqueName('snap-racer'), args: [{}] });
    try {
      await ctx.storage.put(`${versionPrefix(guess)}${RESERVATION_MARKER}`, racer.workflowId);
      const raced = await client.workflow.execute(seedSnapshot, {
        taskQueue: ctx.config.temporal.task_queue,
        workflowId: uniqueName('snap-raced'),
        args: [{ version: guess, versionIsGuess: true, sources: ['trades'] }],
      });
      assert.equal(raced.version, `${second.version}-4`, 'a lost guess takes the next free version instead of failing');
      assert.ok(raced.prune.keep.some((k) => k.version === guess && /still writing/.test(k.reason)), 'a version its run is still writing is not swept');
      const listed = async () => {
        const { stdout } = await execFileAsync(process.execPath, [CLI, 'snapshot', 'list', '--json'], { env: { ...process.env, ...ctx.env, SEEDVAULT_NO_LOCAL_STACK: '1' } });
        return (JSON.parse(stdout) as { versions: { version: string; writing: boolean; owner: string | null }[] }).versions.find((v) => v.version === guess);
      };
      assert.deepEqual(await listed().then((v) => [v?.writing, v?.owner]), [true, racer.workflowId], 'snapshot list shows who is writing it');
      await assert.rejects(
        client.workflow.execute(seedSnapshot, {
          taskQueue: ctx.config.temporal.task_queue,
          workflowId: uniqueName('snap-explicit'),
          args: [{ version: guess, sources: ['trades'] }],
        }),
        (err: Error) => /already exists or is being written/.test(String(((err.cause as Error | undefined)?.cause as Error | undefined)?.message)),
        'an explicit version taken by another run still fails',
      );
      await racer.terminate('test: the racer died');
      assert.equal((await listed())?.writing, false);
      const plan = await pruneVersions(ctx.storage, { count: 4, maxAgeDays: null, today: '2026-01-01' }, true, (id) => isWorkflowRunning(client, id));
      assert.ok(plan.delete.some((d) => d.version === guess), 'once its run has ended, the incomplete version is swept');
    } finally {
      await racer.terminate().catch(() => {});
      await client.connection.close();
    }
  });

  test('backup_metadata has one validated row per table and version, and a BACKUP_READY signal', async () => {
    const client = new pg.Client({ connectionString: ctx.db.url });
    await client.connect();
    try {
      const { rows } = await client.query(
        `select table_name, snapshot_status, validation_status, record_count::int, checksum_sha256
           from backup_metadata where snapshot_version = $1 order by table_name`,
        [version],
      );
      assert.deepEqual(
        rows.map((r) => [r.table_name, r.snapshot_status, r.validation_status, r.record_count, r.checksum_sha256]),
        Object.entries(manifest.tables)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([table, t]) => [table, 'completed', 'validated', t.rows, t.sha256]),
      );
      const signals = await client.query(`select count(*)::int as n from ready_signals where signal_type = 'BACKUP_READY' and status = 'completed'`);
      assert.equal(signals.rows[0].n, 4, 'one per completed snapshot so far');
    } finally {
      await client.end();
    }
  });
});

describe('backup.export_order left empty', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  const bars = 'usdcop_m5_ohlcv';
  before(async () => {
    ctx = await setup('snap_order');
    // A second symbol over the same times, so that time first and key order differ.
    const client = new pg.Client({ connectionString: ctx.db.url });
    await client.connect();
    await client.query(`insert into ${bars} (symbol, time, open, high, low, close, volume) select 'AAA/TEST', time, open, high, low, close, volume from ${bars} order by time limit 3`);
    await client.end();
  });
  after(async () => {
    await ctx.worker.stop();
    await ctx.db.drop();
  });

  test('a new bucket gets time first; a table keeps the order the newest version holding it has, file for file', async () => {
    const first = await runSnapshot(ctx.config, {});
    const entry = first.manifest.tables[bars]!;
    assert.deepEqual(entry.order_columns, ['time', 'symbol']);
    assert.deepEqual(first.manifest.tables.trades_history!.order_columns, ['id'], 'a key without a date column is the order either way');
    await withDownloadedVersion(ctx.storage, first.version, async (dir) => {
      assert.deepEqual(await parquetRows(join(dir, entry.file), entry.columns), await tableRows(ctx.db.url, bars, entry.columns, 'time, symbol'));
    });

    // The latest version as one written before order_columns existed, which sorted by the key.
    const legacy = structuredClone(first.manifest);
    delete legacy.tables[bars]!.order_columns;
    await ctx.storage.put(`${versionPrefix(first.version)}${MANIFEST_FILE}`, JSON.stringify(legacy));
    const kept = await runSnapshot(ctx.config, {});
    const keyOrdered = kept.manifest.tables[bars]!;
    assert.deepEqual(keyOrdered.order_columns, ['symbol', 'time']);
    assert.notEqual(keyOrdered.sha256, entry.sha256);
    await withDownloadedVersion(ctx.storage, kept.version, async (dir) => {
      assert.deepEqual(await parquetRows(join(dir, keyOrdered.file), keyOrdered.columns), await tableRows(ctx.db.url, bars, keyOrdered.columns, 'symbol, time'));
    });
    // A snapshot of another table only becomes latest without the bars: their order stays.
    const tradesOnly = await runSnapshot(ctx.config, { tables: 'trades_history' });
    assert.deepEqual(Object.keys(tradesOnly.manifest.tables), ['trades_history']);
    assert.equal(await readLatestVersion(ctx.storage), tradesOnly.version);
    const again = await runSnapshot(ctx.config, {});
    assert.deepEqual([again.manifest.tables[bars]!.order_columns, again.manifest.tables[bars]!.sha256], [['symbol', 'time'], keyOrdered.sha256], 'unchanged rows, identical file');
  });
});

describe('retention', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    ctx = await setup('snap_retention');
  });
  after(async () => {
    await ctx.worker.stop();
    await ctx.db.drop();
  });

  const versionsIn = async (storage: Storage) => (await listVersions(storage)).map((v) => v.version).sort();

  test('five snapshots in a row leave four; a pinned one and the latest survive', async () => {
    const [v1, v2, v3, v4, v5, v6] = versionsOf(['01.01', '01.08', '01.15', '01.22', '01.29', '02.05']) as string[] as [string, string, string, string, string, string];
    const made = [v1, v2, v3, v4, v5];
    for (const version of made) await runSnapshot(ctx.config, { version, tables: 'trades_history' });
    assert.deepEqual(await versionsIn(ctx.storage), made.slice(1));

    await setPinned(ctx.storage, v2, true);
    await runSnapshot(ctx.config, { version: v6, tables: 'trades_history' });
    assert.deepEqual(await versionsIn(ctx.storage), [v2, v3, v4, v5, v6], 'the newest four plus the pinned one');
    assert.equal(await readLatestVersion(ctx.storage), v6);

    // latest names an older version (say, a rollback): a newer snapshot run never deletes it.
    await ctx.storage.put('LATEST_VERSION', `${v4}\n`);
    const prune = await pruneVersions(ctx.storage, { count: 2, maxAgeDays: null, today: '2026-01-01' }, true, async () => false);
    assert.ok(prune.keep.some((k) => k.version === v4 && k.reason === 'latest'));
    assert.ok(prune.keep.some((k) => k.version === v2 && k.reason === 'pinned'));
    assert.deepEqual(prune.delete.map((d) => d.version), [v3]);
    assert.deepEqual(await versionsIn(ctx.storage), [v2, v3, v4, v5, v6], 'dry run deletes nothing');
  });
});

describe('consistency', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    ctx = await setup('snap_consistency');
  });
  after(async () => {
    await ctx.worker.stop();
    await ctx.db.drop();
  });

  test('rows inserted during the export are wholly in or wholly out of all tables', async () => {
    const writer = new pg.Client({ connectionString: ctx.db.url });
    await writer.connect();
    let written = 0;
    let stop = false;
    // Each transaction writes one bar and one trade carrying the same sequence number.
    const writing = (async () => {
      while (!stop) {
        const n = written + 1;
        await writer.query('begin');
        await writer.query(
          `insert into usdcop_m5_ohlcv (symbol, time, open, high, low, close, volume)
           values ('CONSIST', timestamptz '2030-01-01 13:00Z' + $1 * interval '5 minutes', 4000, 4001, 3999, 4000, $1)`,
          [n],
        );
        await writer.query(
          `insert into trades_history (symbol, side, quantity, price, strategy, opened_at)
           values ('CONSIST', 'buy', $1, 4000, 'consistency', now())`,
          [n],
        );
        await writer.query('commit');
        written = n;
      }
    })();
    try {
      while (written < 20) await new Promise((r) => setTimeout(r, 10));
      const { version, manifest } = await runSnapshot(ctx.config, {});
      const before = written;
      await new Promise((r) => setTimeout(r, 200));
      stop = true;
      await writing;
      const [bars, trades, isolation] = await withDownloadedVersion(ctx.storage, version, async (dir) => [
        await parquetRows(join(dir, manifest.tables.usdcop_m5_ohlcv!.file), manifest.tables.usdcop_m5_ohlcv!.columns),
        await parquetRows(join(dir, manifest.tables.trades_history!.file), manifest.tables.trades_history!.columns),
        JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')).consistency.isolation,
      ] as const);
      const cols = (t: string) => manifest.tables[t]!.columns.map((c) => c.name);
      const barSeq = bars.filter((r) => r[cols('usdcop_m5_ohlcv').indexOf('symbol')] === 'CONSIST').map((r) => Number(r[cols('usdcop_m5_ohlcv').indexOf('volume')]));
      const tradeSeq = trades.filter((r) => r[cols('trades_history').indexOf('symbol')] === 'CONSIST').map((r) => Number(r[cols('trades_history').indexOf('quantity')]));
      assert.deepEqual(barSeq.sort((a, b) => a - b), tradeSeq.sort((a, b) => a - b), 'same transactions in both tables');
      assert.ok(barSeq.length >= 20, `rows committed before the snapshot are in (${barSeq.length})`);
      assert.ok(barSeq.length < written && before <= written, `rows committed after it are out (${barSeq.length} of ${written})`);
      assert.deepEqual(barSeq, Array.from({ length: barSeq.length }, (_, i) => i + 1), 'a prefix of the commit order');
      assert.equal(isolation, 'repeatable read');
    } finally {
      stop = true;
      await writing.catch(() => {});
      await writer.end();
    }
  });
});

describe('local storage backend', () => {
  test('a snapshot to a folder has the same layout and verifies with sha256sum -c', async () => {
    const db = await freshDatabase('snap_local');
    const folder = await mkdtemp(join(tmpdir(), 'seedvault-local-seeds-'));
    const config = testConfig({ DATABASE_URL: db.url, SEEDVAULT_STORAGE_TYPE: 'local', SEEDVAULT_LOCAL_SEEDS: folder, SEEDVAULT_TASK_QUEUE: uniqueName('local') });
    const worker = await withWorker(config);
    try {
      await loadDemoData(db.url, {});
      const [version] = versionsOf(['05.05']) as [string];
      const result = await runSnapshot(config, { version, tables: 'trades_history,macro_indicators_daily' });
      assert.deepEqual(Object.keys(result.manifest.tables).sort(), ['macro_indicators_daily', 'trades_history']);
      const { stdout } = await execFileAsync('sha256sum', ['-c', 'checksums.sha256'], { cwd: join(folder, `v${version}`) });
      assert.equal(stdout.trim().split('\n').length, 2, stdout);
      assert.equal((await readFile(join(folder, 'LATEST_VERSION'), 'utf8')).trim(), version);
      assert.equal(await readFile(join(folder, 'latest', 'manifest.json'), 'utf8'), await readFile(join(folder, `v${version}`, 'manifest.json'), 'utf8'));
      const leftovers = (await readdir(join(folder, `v${version}`))).filter((name) => name.includes('.tmp-'));
      assert.deepEqual(leftovers, [], 'no temporary files left behind');
    } finally {
      await worker.stop();
      await db.drop();
    }
  });

  test('a full disk fails the run at once, clearly, and leaves the earlier latest and no partial files', async (t) => {
    const folder = await mkdtemp(join(tmpdir(), 'seedvault-full-disk-'));
    // A 1 MiB tmpfs: room for a trades-only version and its latest copy, not for the bars.
    const mounted = await execFileAsync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', folder]).then(() => true, () => false);
    if (!mounted) return t.skip('mounting a tmpfs needs root');
    const db = await freshDatabase('snap_full');
    const config = testConfig({ DATABASE_URL: db.url, SEEDVAULT_STORAGE_TYPE: 'local', SEEDVAULT_LOCAL_SEEDS: folder, SEEDVAULT_TASK_QUEUE: uniqueName('full') });
    const worker = await withWorker(config);
    try {
      await loadDemoData(db.url, {});
      const [small, big] = versionsOf(['06.01', '06.02']) as [string, string];
      await runSnapshot(config, { version: small, tables: 'trades_history' });
      const started = Date.now();
      await assert.rejects(runSnapshot(config, { version: big }), (err: Error) => {
        const activity = err.cause as Error | undefined;
        assert.match(String((activity?.cause as Error | undefined)?.message), /no space left writing v.*\(ENOSPC\)/);
        return true;
      });
      assert.ok(Date.now() - started < 30_000, 'not retried for minutes');
      assert.equal((await readFile(join(folder, 'LATEST_VERSION'), 'utf8')).trim(), small);
      assert.deepEqual(await readdir(join(folder, `v${big}`)), ['.reserved'], 'the partial upload is discarded, the reservation kept');
    } finally {
      await worker.stop();
      await db.drop();
      await execFileAsync('umount', ['-l', folder]).catch(() => {});
    }
  });
});

describe('an export that waits longer than its heartbeat timeout', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    ctx = await setup('snap_silent');
  });
  after(async () => {
    await ctx.worker.stop();
    await ctx.db.drop();
  });

  // Like a 100M-row sort, a lock wait sends no row for longer than the export's 30 s heartbeat timeout.
  test('heartbeats while no row arrives and completes on its first attempt', async () => {
    const lock = await holdLock(ctx.db.url, 'lock table usdcop_m5_ohlcv in access exclusive mode');
    const [version] = versionsOf(['07.07']) as [string];
    const handle = await startSnapshot(ctx.config, { version, tables: 'ohlcv' }).catch(async (err: Error) => {
      await lock.release();
      throw err;
    });
    try {
      await waitForLockWaiter(ctx.db.url, 'usdcop_m5_ohlcv');
      await new Promise((r) => setTimeout(r, 36_000));
    } finally {
      await lock.release();
    }
    const result = await handle.result();
    assert.equal(result.manifest.tables.usdcop_m5_ohlcv!.rows > 0, true);
    const exports = (await activityRuns(handle)).filter((r) => r.activity === 'exportTables');
    assert.deepEqual(exports.map((r) => r.attempt), [1], 'no heartbeat timeout, no retry');
    assert.ok(exports[0]!.seconds! > 36, `the export waited out the lock (${exports[0]!.seconds} s)`);
  });
});
