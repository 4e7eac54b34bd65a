/**
 * A restore never loses a table to a crash: PostgreSQL crashed while the swap waits (its
 * staging tables must survive crash recovery), a staging table emptied behind the
 * restore's back (the commit re-counts and the table is staged again, or the run fails
 * with nothing changed), and a step slower than the heartbeat timeout (it heartbeats).
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { activityRuns } from '../bench/support.js';
import { restoreInput, startRestore, type RestoreOptions } from '../src/client/restore-run.js';
import { loadDemoData } from '../src/db/demo-data.js';
import { stagingFor } from '../src/restore/staging.js';
import { crashPostgresComponent, startComponent, type CrashKind } from '../src/stack/index.js';
import { createStorage } from '../src/storage/index.js';
import { restoreProgressQuery, type seedRestore } from '../src/workflows/restore.js';
import { freshDatabase } from './support/db.js';
import { holdLock, sql, tableDigests, waitForLockWaiter } from './support/restore.js';
import { runSnapshot } from './support/snapshot.js';
import { createBucket, testConfig, uniqueName, withWorker } from './support/stack.js';

const STACK = { stateDir: process.env.SEEDVAULT_STATE_DIR };

async function setup(name: string, env: Record<string, string> = {}) {
  const db = await freshDatabase(name);
  await loadDemoData(db.url, { scale: 1 });
  const bucket = uniqueName(name.replaceAll('_', '-'));
  await createBucket(bucket);
  const config = testConfig({ DATABASE_URL: db.url, S3_BUCKET: bucket, SEEDVAULT_TASK_QUEUE: uniqueName(name), ...env });
  const worker = await withWorker(config);
  const version = `${2100 + randomInt(7900)}.03.01`;
  await runSnapshot(config, { version });
  return { db, config, worker, version, original: await tableDigests(db.url) };
}

/** The last attempt of every run of `activity` in the workflow's history. */
async function attempts(handle: WorkflowHandle<typeof seedRestore>, activity: string): Promise<number[]> {
  return (await activityRuns(handle)).filter((r) => r.activity === activity).map((r) => r.attempt);
}

describe('PostgreSQL crashed while a restore swaps', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    ctx = await setup('restore_crash');
  });
  after(async () => {
    await ctx.worker.stop();
    await ctx.db.drop();
  });

  const cases: { name: string; mode: 'replace' | 'merge'; crash: CrashKind; prepare?: string }[] = [
    // A statement trigger forbids the rename, so the swap is TRUNCATE + INSERT ... SELECT: the reported data-loss path.
    {
      name: 'replace by truncate + insert (a table with a trigger), pg_ctl stop -m immediate',
      mode: 'replace',
      crash: 'immediate',
      prepare: `create function noop() returns trigger language plpgsql as 'begin return null; end';
                create trigger audit after insert on usdcop_m5_ohlcv for each statement execute function noop()`,
    },
    { name: 'merge, SIGKILL of the postmaster', mode: 'merge', crash: 'sigkill' },
    { name: 'replace by rename, pg_ctl stop -m immediate', mode: 'replace', crash: 'immediate', prepare: 'drop trigger if exists audit on usdcop_m5_ohlcv' },
  ];
  for (const c of cases) {
    test(`${c.name}: the live table ends restored, never empty`, async () => {
      if (c.prepare) await sql(ctx.db.url, c.prepare);
      await sql(ctx.db.url, `delete from usdcop_m5_ohlcv where time >= '2023-01-01'`);
      const lock = await holdLock(ctx.db.url, 'select 1 from usdcop_m5_ohlcv limit 1');
      const options: RestoreOptions = { version: ctx.version, tables: 'ohlcv', mode: c.mode };
      const handle = await startRestore(ctx.config, restoreInput(ctx.config, options));
      try {
        // The swap waits for the live table's lock: that is inside the commit activity, after validation.
        await waitForLockWaiter(ctx.db.url, 'usdcop_m5_ohlcv');
        await crashPostgresComponent(c.crash, STACK);
      } finally {
        await lock.release();
        await startComponent('postgres', STACK);
      }
      const result = await handle.result();
      assert.equal(result.tables[0]!.status, 'restored');
      assert.equal((await tableDigests(ctx.db.url)).usdcop_m5_ohlcv, ctx.original.usdcop_m5_ohlcv);
      assert.ok((await attempts(handle, 'commitRestore')).some((a) => a > 1), 'the crash hit the commit and it was retried');
      const staging = await sql(ctx.db.url, `select count(*)::int as n from pg_tables where schemaname = 'seedvault_staging'`);
      assert.equal(staging.rows[0].n, 0);
    });
  }
});

describe('a staging table changed after validation', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    ctx = await setup('restore_restage');
  });
  after(async () => {
    await ctx.worker.stop();
    await ctx.db.drop();
  });

  /**
   * Starts a restore of ohlcv then macro; once ohlcv is validated and macro's stage is held
   * back (the test holds a lock on macro's staging table), empties ohlcv's staging table,
   * runs `meanwhile`, then lets the restore go on.
   */
  async function emptyStagingBehindItsBack(options: RestoreOptions, meanwhile: () => Promise<void> = async () => {}) {
    const handle = await startRestore(ctx.config, restoreInput(ctx.config, { version: ctx.version, tables: 'ohlcv,macro', ...options }));
    const runKey = `${handle.workflowId}/${handle.firstExecutionRunId}`;
    const macro = stagingFor('macro_indicators_daily', runKey).sql;
    await sql(ctx.db.url, `create schema if not exists seedvault_staging; create table ${macro} (x int)`);
    const lock = await holdLock(ctx.db.url, `select 1 from ${macro}`);
    try {
      for (let i = 0; ; i += 1) {
        const progress = await handle.query(restoreProgressQuery).catch(() => null);
        if (progress?.tables.find((t) => t.table === 'usdcop_m5_ohlcv')?.done) break;
        assert.ok(i < 600, 'ohlcv was never validated');
        await sleep(50);
      }
      await waitForLockWaiter(ctx.db.url, macro);
      await sql(ctx.db.url, `truncate ${stagingFor('usdcop_m5_ohlcv', runKey).sql}`);
      await meanwhile();
    } finally {
      await lock.release();
    }
    return handle;
  }

  test('the commit refuses it and the table is staged again: the restore completes equal to the snapshot', async () => {
    await sql(ctx.db.url, `delete from usdcop_m5_ohlcv where time >= '2024-01-01'; delete from macro_indicators_daily where date >= '2020-01-01'`);
    const handle = await emptyStagingBehindItsBack({});
    const result = await handle.result();
    assert.deepEqual(await tableDigests(ctx.db.url), ctx.original);
    const ohlcv = result.tables.find((t) => t.table === 'usdcop_m5_ohlcv')!;
    assert.equal(ohlcv.status, 'restored');
    assert.match(ohlcv.rejected.map((r) => r.reason).join(), /staging table changed after validation/);
    assert.equal((await attempts(handle, 'stageTable')).length, 3, 'ohlcv staged twice, macro once');
    assert.equal((await attempts(handle, 'commitRestore')).length, 2, 'the first commit refused, the second swapped');
  });

  test('when the source can no longer give it, the run fails and no table changes', async () => {
    await sql(ctx.db.url, `delete from usdcop_m5_ohlcv where time >= '2022-01-01'`);
    const before = await tableDigests(ctx.db.url);
    const storage = createStorage(ctx.config.storage);
    const key = `v${ctx.version}/usdcop_m5_ohlcv.parquet`;
    const handle = await emptyStagingBehindItsBack({ source: 'minio' }, async () => {
      // The object goes bad while the restore waits: staging it again fails its sha256 check.
      await storage.put(key, Readable.from([Buffer.from('not the snapshot any more')]));
    });
    await assert.rejects(handle.result(), (err: Error) => {
      assert.match((err.cause as Error | undefined)?.message ?? err.message, /no table was changed.*usdcop_m5_ohlcv/);
      return true;
    });
    assert.deepEqual(await tableDigests(ctx.db.url), before);
    const staging = await sql(ctx.db.url, `select count(*)::int as n from pg_tables where schemaname = 'seedvault_staging'`);
    assert.equal(staging.rows[0].n, 0);
  });
});

describe('a restore step slower than the heartbeat timeout', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    ctx = await setup('restore_slow', { SEEDVAULT_HEARTBEAT_TIMEOUT_SECONDS: '2' });
    // An index whose build takes ~6 s (636 rows x 10 ms), built on the staging twin with no row progress to report.
    await sql(
      ctx.db.url,
      `create function slow_id(x bigint) returns bigint language plpgsql immutable as 'begin perform pg_sleep(0.01); return x; end';
       create index trades_slow_idx on trades_history (slow_id(id))`,
    );
  });
  after(async () => {
    await ctx.worker.stop();
    await ctx.db.drop();
  });

  test('heartbeats through the index build and completes on its first attempt', async () => {
    await sql(ctx.db.url, `delete from trades_history where id % 2 = 0`);
    const handle = await startRestore(ctx.config, restoreInput(ctx.config, { version: ctx.version, tables: 'trades' }));
    const result = await handle.result();
    assert.equal(result.tables[0]!.status, 'restored');
    assert.equal((await tableDigests(ctx.db.url)).trades_history, ctx.original.trades_history);
    const history = (await handle.fetchHistory()).events ?? [];
    const started = history.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'stageTable')!;
    assert.equal(Number(started.activityTaskScheduledEventAttributes!.heartbeatTimeout!.seconds), 2, 'the configured heartbeat timeout is in force');
    assert.deepEqual(await attempts(handle, 'stageTable'), [1], 'no heartbeat timeout, no retry');
  });
});
