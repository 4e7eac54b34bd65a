/**
 * exportInThread against a real PostgreSQL (DATABASE_URL, a role that may create databases):
 * the thread reads the caller's exported snapshot on a connection of its own and writes the
 * same bytes exportTable writes in the caller's process; a slow `out` holds the COPY back;
 * a snapshot whose holder has ended fails as the non-retryable SNAPSHOT_LOST; an abort cancels
 * the thread's COPY on the server and destroys `out`; the main heap is collected once the thread ends.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { PassThrough, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import pg from 'pg';
import { SNAPSHOT_LOST } from '../src/domain/split.js';
import { exportInThread } from '../src/parquet/export-in-thread.js';
import { exportTable } from '../src/parquet/export.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';

const ROWS = 300_000;
/** Rows of the table of incompressible text: ~80 MB of Parquet, far more than the thread may run ahead. */
const WIDE_ROWS = 600_000;

let database: FreshDatabase;
let admin: pg.Client;
let holder: pg.Client;
let url: string;

before(async () => {
  database = await freshDatabase('test_export_thread', { migrated: false });
  url = database.url;
  // Watches the thread's COPY in pg_stat_activity.
  admin = new pg.Client({ connectionString: url });
  await admin.connect();
  holder = new pg.Client({ connectionString: url });
  await holder.connect();
  await holder.query(`
    CREATE TABLE bars (symbol text NOT NULL, time timestamptz NOT NULL, price numeric(12,4) NOT NULL, PRIMARY KEY (symbol, time));
    INSERT INTO bars SELECT 'S' || (g % 7), timestamptz '2021-05-01 00:00:00+00' + g * interval '1 minute', 1 + (g % 100000) / 7.0 FROM generate_series(1, ${ROWS}) g;
    CREATE TABLE wide (id int4 PRIMARY KEY, t text NOT NULL);
    INSERT INTO wide SELECT g, md5(g::text) || md5((-g)::text) || md5((g * 7)::text) || md5((g * 13)::text) FROM generate_series(1, ${WIDE_ROWS}) g;
  `);
});

after(async () => {
  await holder?.end();
  await admin?.end();
  await database?.drop();
});

/** Opens a snapshot on `holder` and exports its id; the caller ends it with rollback. */
async function exportedSnapshot(): Promise<string> {
  await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  return (await holder.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0]!.id;
}

/** A Writable that hashes what it takes, optionally taking nothing until `open()`. */
function hashingSink(paused = false) {
  const hash = createHash('sha256');
  let bytes = 0;
  let release: (() => void) | null = null;
  let gate = paused ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve();
  const sink = new Writable({
    highWaterMark: 1 << 16,
    write(chunk: Buffer, _encoding, callback) {
      gate.then(() => {
        hash.update(chunk);
        bytes += chunk.length;
        callback();
      }, callback);
    },
  });
  return {
    sink,
    open: () => {
      release?.();
      gate = Promise.resolve();
    },
    digest: () => ({ bytes, sha256: hash.digest('hex') }),
    finished: new Promise<void>((resolve, reject) => sink.on('finish', resolve).on('error', reject)),
  };
}

const OPTIONS = { table: 'bars', dateColumn: 'time', groupSpans: { groupColumn: 'symbol', timeColumn: 'time' }, format: 'parquet', compression: 'snappy' } as const;

describe('exportInThread', () => {
  it('writes the bytes exportTable writes in-process, reading the caller’s snapshot, with progress and the same facts', async () => {
    const snapshotId = await exportedSnapshot();
    try {
      // Rows committed after the snapshot must not be in the thread's export.
      const other = new pg.Client({ connectionString: url });
      await other.connect();
      await other.query(`INSERT INTO bars VALUES ('ZZZ', now(), 1)`);
      const progress: number[] = [];
      const threaded = hashingSink();
      const result = await exportInThread({ connectionString: url, snapshotId, options: OPTIONS }, threaded.sink, (rows) => progress.push(rows));
      await threaded.finished;
      const inProcess = hashingSink();
      await other.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await other.query(`SET TRANSACTION SNAPSHOT '${snapshotId}'`);
      const expected = await exportTable({ ...OPTIONS, client: other, out: inProcess.sink });
      await other.query('ROLLBACK');
      await other.query(`DELETE FROM bars WHERE symbol = 'ZZZ'`);
      await other.end();
      assert.equal(result.rows, ROWS);
      assert.deepEqual(threaded.digest(), { bytes: expected.bytes, sha256: expected.sha256 });
      assert.deepEqual(result, expected);
      assert.ok(progress.length >= 2 && progress.at(-1) === ROWS, `progress ${progress.join(',')}`);
    } finally {
      await holder.query('ROLLBACK');
    }
  });

  it('holds the COPY back while `out` takes nothing, then finishes once it does', async () => {
    const snapshotId = await exportedSnapshot();
    try {
      const progress: number[] = [];
      const slow = hashingSink(true);
      const options = { table: 'wide', format: 'parquet', compression: 'snappy' } as const;
      const exporting = exportInThread({ connectionString: url, snapshotId, options }, slow.sink, (rows) => progress.push(rows));
      await sleep(3_000);
      const heldAt = progress.at(-1) ?? 0;
      await sleep(1_000);
      // Bounded by a few row groups in the Parquet writer and the chunks in flight, far from the whole table.
      assert.ok(heldAt > 0 && heldAt < WIDE_ROWS, `the thread ran ahead of a stalled out: ${heldAt} of ${WIDE_ROWS} rows`);
      assert.equal(progress.at(-1), heldAt, 'the COPY went on while out took nothing');
      slow.open();
      const result = await exporting;
      await slow.finished;
      assert.equal(result.rows, WIDE_ROWS);
      assert.ok(result.bytes > 60e6, `${result.bytes} bytes`);
      assert.equal(slow.digest().sha256, result.sha256);
    } finally {
      await holder.query('ROLLBACK');
    }
  });

  it('collects the main heap once the thread is gone, succeeded or failed, where node exposes gc (the worker runs with --expose-gc)', async () => {
    const saved = globalThis.gc;
    let collections = 0;
    globalThis.gc = (() => void (collections += 1)) as NodeJS.GCFunction;
    try {
      const snapshotId = await exportedSnapshot();
      const sink = hashingSink();
      try {
        const exporting = exportInThread({ connectionString: url, snapshotId, options: OPTIONS }, sink.sink);
        await sleep(50);
        assert.equal(collections, 0, 'no collection while the thread runs');
        await exporting;
      } finally {
        await holder.query('ROLLBACK');
      }
      assert.equal(collections, 1, 'one collection after the export');
      // The snapshot's holder has ended: the thread fails (and destroys out with the failure).
      const out = new PassThrough().on('error', () => {});
      await assert.rejects(exportInThread({ connectionString: url, snapshotId, options: OPTIONS }, out));
      assert.equal(collections, 2, 'one collection after the failed export');
    } finally {
      globalThis.gc = saved;
    }
  });

  it('fails as the non-retryable SNAPSHOT_LOST once the snapshot’s holder has ended, and destroys out', async () => {
    const snapshotId = await exportedSnapshot();
    await holder.query('ROLLBACK');
    const out = new PassThrough();
    const outError = new Promise((resolve) => out.on('error', resolve));
    await assert.rejects(
      exportInThread({ connectionString: url, snapshotId, options: OPTIONS }, out),
      (err: unknown) => err instanceof ApplicationFailure && err.type === SNAPSHOT_LOST && err.nonRetryable && err.message.includes(snapshotId),
    );
    assert.equal(out.destroyed, true);
    assert.equal(((await outError) as ApplicationFailure).type, SNAPSHOT_LOST, 'out is destroyed with the failure');
  });

  it('on abort, cancels the thread’s COPY on the server and rejects with the reason', async () => {
    const snapshotId = await exportedSnapshot();
    try {
      const stalled = hashingSink(true);
      const abort = new AbortController();
      const progress: number[] = [];
      // The wide table: its COPY is still running, held back by the stalled out, when the abort comes.
      const options = { table: 'wide', format: 'parquet', compression: 'snappy' } as const;
      const exporting = exportInThread({ connectionString: url, snapshotId, options }, stalled.sink, (rows) => progress.push(rows), abort.signal);
      const copying = async () =>
        (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY%' AND state = 'active' AND backend_type = 'client backend'`)).rows[0]!.n;
      const before = await copying();
      while (progress.length === 0) await sleep(20);
      assert.equal(await copying(), before + 1, 'the thread is copying');
      const reason = new Error('stop the export');
      const outFailed = assert.rejects(stalled.finished, (err) => err === reason);
      abort.abort(reason);
      await assert.rejects(exporting, (err) => err === reason);
      await outFailed;
      assert.equal(stalled.sink.destroyed, true);
      for (let tries = 0; (await copying()) > before && tries < 100; tries++) await sleep(50);
      assert.equal(await copying(), before, 'the COPY ended on the server');
    } finally {
      await holder.query('ROLLBACK');
    }
  });
});
