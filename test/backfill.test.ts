import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { ScheduleNotFoundError } from '@temporalio/client';
import pg from 'pg';
import { CLI, spawnWorker } from '../bench/support.js';
import { startBackfill } from '../src/client/backfill-start.js';
import { connectClient } from '../src/temporal/connection.js';
import { BACKFILL_SCHEDULE_ID } from '../src/temporal/backfill-schedule.js';
import { fileBackupSchedules } from '../src/temporal/file-backup-schedules.js';
import { backfillProgressQuery, setConcurrencyUpdate, type BackfillInput, type BackfillSummary } from '../src/workflows/backfill.js';
import { FailureAlert } from '../src/workflows/search-attributes.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { startProviderFake, type FakeProvider } from './support/provider-fake.js';
import { sql as sqlQuery } from './support/restore.js';
import { execFileAsync } from './support/snapshot.js';
import { createBucket, testConfig, uniqueName, withWorker } from './support/stack.js';

/** Monday 5 to Wednesday 7 January 2026: three Colombian sessions, 180 bars, one request each. */
const RANGE = { from: '2026-01-05T00:00:00Z', to: '2026-01-08T00:00:00Z' };
const BARS = 180;
const REQUESTS = 3;

describe('backfill against a fake provider', () => {
  let db: FreshDatabase;
  let fake: FakeProvider;
  let sql: pg.Pool;
  let env: Record<string, string>;
  before(async () => {
    db = await freshDatabase('backfill');
    fake = await startProviderFake();
    sql = new pg.Pool({ connectionString: db.url, max: 2 });
    env = {
      DATABASE_URL: db.url,
      SEEDVAULT_TASK_QUEUE: uniqueName('backfill'),
      TWELVEDATA_BASE_URL: fake.url,
      TWELVEDATA_API_KEY: fake.apiKey,
      TWELVEDATA_CREDITS_PER_MINUTE: '100000',
      TWELVEDATA_CREDITS_PER_DAY: '1000000',
      TWELVEDATA_TIMEOUT_SECONDS: '1',
    };
  });
  after(async () => {
    await sql.end();
    await fake.close();
    await db.drop();
  });

  const run = async (input: BackfillInput): Promise<BackfillSummary> => (await startBackfill(testConfig(env), { ...RANGE, ...input })).result();
  const barCounts = async (symbols: string[]) => {
    const { rows } = await sql.query<{ symbol: string; n: number; distinct_times: number }>(
      `select symbol, count(*)::int as n, count(distinct time)::int as distinct_times from usdcop_m5_ohlcv where symbol = any($1) group by symbol order by symbol`,
      [symbols],
    );
    return rows;
  };
  const streak = async (symbol: string) =>
    (await sql.query(`select consecutive_failures, total_failures, should_alert from symbol_failure_tracking where symbol = $1`, [symbol])).rows[0];

  test('faults are retried: good symbols end complete without duplicates, an invalid bar is skipped, the bad symbol fails as bad_symbol', async () => {
    fake.failNext('F1/COP', 'http-429', 'error-body');
    fake.failNext('F2/COP', 'timeout', 'credits-body');
    fake.badSymbols.add('BAD/COP');
    const corruptAt = Date.parse('2026-01-06T15:00:00Z');
    fake.corruptBars.set('F3/COP', new Set([corruptAt]));
    const worker = await withWorker(testConfig(env));
    try {
      const summary = await run({ symbols: ['F1/COP', 'F2/COP', 'F3/COP', 'BAD/COP'] });
      assert.equal(summary.total, 4);
      assert.equal(summary.completed, 3);
      assert.deepEqual(summary.failed, { bad_symbol: 1 });
      assert.equal(summary.barsInserted, 3 * BARS - 1);
      assert.deepEqual(await barCounts(['F1/COP', 'F2/COP', 'F3/COP', 'BAD/COP']), [
        { symbol: 'F1/COP', n: BARS, distinct_times: BARS },
        { symbol: 'F2/COP', n: BARS, distinct_times: BARS },
        { symbol: 'F3/COP', n: BARS - 1, distinct_times: BARS - 1 },
      ]);
      const { rows: states } = await sql.query(
        `select symbol, status, records_inserted, error_message from backfill_state_persistent where execution_id = $1 order by symbol`,
        [summary.executionId],
      );
      assert.deepEqual(states.map((s) => [s.symbol, s.status, s.records_inserted]), [
        ['BAD/COP', 'failed', 0], ['F1/COP', 'completed', BARS], ['F2/COP', 'completed', BARS], ['F3/COP', 'completed', BARS - 1],
      ]);
      assert.match(states[0].error_message, /^bad_symbol: /);
      assert.doesNotMatch(JSON.stringify(states), new RegExp(fake.apiKey), 'the api key never reaches the database');
      const { rows: gaps } = await sql.query(`select symbol, fill_status, missing_points, filled_points from data_gaps where symbol <> 'BAD/COP' order by symbol`);
      assert.deepEqual(gaps.map((g) => [g.symbol, g.fill_status]), [['F1/COP', 'filled'], ['F2/COP', 'filled'], ['F3/COP', 'failed']]);
      assert.equal(gaps[2].filled_points, BARS - 1);
      const { rows: ready } = await sql.query(`select records_available from ready_signals where signal_type = 'DATA_READY'`);
      assert.deepEqual(ready, [{ records_available: String(3 * BARS - 1) }]);
      assert.deepEqual((await streak('BAD/COP')) as object, { consecutive_failures: 1, total_failures: 1, should_alert: false });
    } finally {
      await worker.stop();
    }
  });

  test('three failed runs raise the alert; retry-failed reruns only the failed symbol and its success resets the streak', async () => {
    const worker = await withWorker(testConfig(env));
    try {
      let summary: BackfillSummary | undefined;
      for (let i = 0; i < 2; i += 1) {
        summary = await run({ symbols: ['BAD/COP', 'G1/COP'] });
        assert.deepEqual(summary.alerts, i === 1 ? ['BAD/COP'] : [], `run ${i + 2}`);
      }
      assert.deepEqual((await streak('BAD/COP')) as object, { consecutive_failures: 3, total_failures: 3, should_alert: true });
      const client = await connectClient(testConfig(env));
      const child = await client.workflow.getHandle(`backfill-${summary!.executionId}/BAD/COP`).describe();
      assert.deepEqual(child.typedSearchAttributes.get(FailureAlert), true);
      const parent = await client.workflow.getHandle(`backfill-${summary!.executionId}`).describe();
      assert.deepEqual(parent.typedSearchAttributes.get(FailureAlert), true);

      fake.badSymbols.delete('BAD/COP');
      const goodRequests = fake.requests.get('G1/COP');
      const retried = await (await startBackfill(testConfig(env), { executionId: summary!.executionId, retryFailed: true })).result();
      assert.equal(retried.total, 1);
      assert.equal(retried.completed, 1);
      assert.equal(fake.requests.get('G1/COP'), goodRequests, 'the completed symbol was not fetched again');
      assert.deepEqual((await streak('BAD/COP')) as object, { consecutive_failures: 0, total_failures: 3, should_alert: false });
      assert.deepEqual(await barCounts(['BAD/COP']), [{ symbol: 'BAD/COP', n: BARS, distinct_times: BARS }]);
    } finally {
      await worker.stop();
    }
  });

  test('a child ended from outside (terminated mid-fetch, or never started) is marked failed, and retry-failed completes it over the same range', async () => {
    const worker = await withWorker(testConfig(env));
    const client = await connectClient(testConfig(env));
    // A workflow already holding N1's child id: that child cannot start, so N1 never plans its range.
    const executionId = randomUUID();
    const blocker = await client.workflow.start('backfillSymbol', { taskQueue: uniqueName('nobody-polls'), workflowId: `backfill-${executionId}/N1/COP` });
    fake.latencyMs = 700; // under the 1 s provider timeout: T1's child is ended while its first request is in flight
    try {
      const handle = await startBackfill(testConfig(env), { ...RANGE, executionId, symbols: ['N1/COP', 'T1/COP', 'T2/COP'], concurrency: 3 });
      await fake.requested('T1/COP');
      await client.workflow.getHandle(`${handle.workflowId}/T1/COP`).terminate('test: an operator ended it');
      const summary = await handle.result();
      assert.deepEqual([summary.completed, summary.failed], [1, { internal: 2 }]);
      const { rows } = await sql.query(
        `select symbol, status, error_message, range_from, range_to from backfill_state_persistent where execution_id = $1 and symbol <> 'T2/COP' order by symbol`,
        [executionId],
      );
      assert.deepEqual(rows.map((r) => r.status), ['failed', 'failed'], 'not left pending or in_progress');
      assert.match(rows[0].error_message, /^internal: .*already (started|running)/i);
      assert.match(rows[1].error_message, /^internal: .*terminated/i);
      for (const r of rows) assert.deepEqual([r.range_from, r.range_to], [new Date(RANGE.from), new Date(RANGE.to)], `${r.symbol}: range fixed at registration`);
      assert.equal((await streak('T1/COP')).consecutive_failures, 1);

      await blocker.terminate('test: done blocking');
      fake.latencyMs = 0;
      const retried = await (await startBackfill(testConfig(env), { executionId, retryFailed: true })).result();
      assert.deepEqual([retried.total, retried.completed], [2, 2]);
      assert.deepEqual(await barCounts(['N1/COP', 'T1/COP']), [
        { symbol: 'N1/COP', n: BARS, distinct_times: BARS },
        { symbol: 'T1/COP', n: BARS, distinct_times: BARS },
      ]);
    } finally {
      fake.latencyMs = 0;
      await blocker.terminate().catch(() => {});
      await client.connection.close();
      await worker.stop();
    }
  });

  test('a worker killed mid-backfill resumes without refetching finished symbols; concurrency changes live; history continues as new', async () => {
    const symbols = Array.from({ length: 8 }, (_, i) => `K${i}/COP`);
    fake.latencyMs = 250;
    let worker = spawnWorker(env);
    try {
      const handle = await startBackfill(testConfig(env), { ...RANGE, symbols, concurrency: 1, childrenPerRun: 3 });
      for (let i = 0; i < 200 && (await handle.query(backfillProgressQuery).catch(() => null)) === null; i += 1) await sleep(100);
      assert.equal(await handle.executeUpdate(setConcurrencyUpdate, { args: [2] }), 2);
      const done = async () => (await sql.query<{ symbol: string }>(
        `select symbol from backfill_state_persistent where execution_id = $1 and status = 'completed' order by symbol`,
        [handle.workflowId.replace(/^backfill-/, '')],
      )).rows.map((r) => r.symbol);
      let finishedBeforeKill: string[] = [];
      for (let i = 0; i < 300 && finishedBeforeKill.length < 3; i += 1) {
        await sleep(100);
        finishedBeforeKill = await done();
      }
      worker.kill('SIGKILL');
      await once(worker, 'exit');
      finishedBeforeKill = await done();
      assert.ok(finishedBeforeKill.length >= 3 && finishedBeforeKill.length < symbols.length, `killed after ${finishedBeforeKill.length} symbols`);
      worker = spawnWorker(env);
      const summary = await handle.result();
      assert.equal(summary.completed, symbols.length);
      assert.ok(summary.runs >= 3, `continued as new (${summary.runs} runs)`);
      for (const symbol of finishedBeforeKill) assert.equal(fake.requests.get(symbol), REQUESTS, `${symbol} fetched once per range`);
      const counts = await barCounts(symbols);
      assert.deepEqual(counts.map((c) => [c.n, c.distinct_times]), symbols.map(() => [BARS, BARS]));
    } finally {
      fake.latencyMs = 0;
      worker.kill('SIGKILL');
    }
  });

  test('CLI: start --wait, status, gaps by severity, one-line bad-input errors, schedule apply creates the daily backfill', async () => {
    const cli = (...args: string[]) => execFileAsync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env, SEEDVAULT_LOG_LEVEL: 'warn' } });
    const worker = await withWorker(testConfig(env));
    try {
      const started = JSON.parse((await cli('backfill', 'start', '--symbols', 'CLI/COP', '--from', '2026-01-05', '--to', '2026-01-08', '--wait', '--json')).stdout);
      assert.equal(started.completed, 1);
      assert.equal(started.barsInserted, BARS);
      const status = JSON.parse((await cli('backfill', 'status', started.executionId, '--json')).stdout);
      assert.deepEqual(status.byStatus, { completed: 1 });

      // A LOW gap (1 bar) and a HIGH gap (13 bars = 65 business minutes).
      await sql.query(
        `delete from usdcop_m5_ohlcv where symbol = 'CLI/COP' and (time = '2026-01-05T14:00Z' or time between '2026-01-06T13:00Z' and '2026-01-06T14:00Z')`,
      );
      const [report] = JSON.parse((await cli('gaps', '--symbol', 'CLI/COP', '--from', '2026-01-05', '--to', '2026-01-08', '--json')).stdout);
      assert.deepEqual(report.bySeverity, { CRITICAL: 0, HIGH: 1, MEDIUM: 0, LOW: 1 });
      assert.equal(report.expectedBars, BARS);
      assert.equal(report.presentBars, BARS - 14);

      for (const args of [['backfill', 'start', '--concurrency', '0'], ['backfill', 'retry-failed', 'nope'], ['gaps', '--from', 'yesterday']]) {
        const err = await cli(...args).then(() => null, (e: { code: number; stderr: string }) => e);
        assert.equal(err?.code, 2, args.join(' '));
        assert.match(err.stderr, /^seedvault: .+\n$/, args.join(' '));
      }

      // A file backup type that was enabled when its schedule was made, and is not any more.
      const config = testConfig(env);
      const client = await connectClient(config);
      const retired = { ...config, file_backups: { ...config.file_backups, types: { retired_type: { sources: ['.'], enabled: true, retention_days: 1, compress: true, interval_hours: 24, description: '' } } } };
      await client.schedule.create(fileBackupSchedules(retired)[0]!);

      const applied = JSON.parse((await cli('schedule', 'apply', '--json')).stdout) as { scheduleId: string; action: string }[];
      assert.ok(applied.some((a) => a.scheduleId === BACKFILL_SCHEDULE_ID));
      assert.ok(applied.some((a) => a.scheduleId === 'file-backup-retired-type' && a.action === 'deleted'), JSON.stringify(applied));
      await assert.rejects(client.schedule.getHandle('file-backup-retired-type').describe(), ScheduleNotFoundError);
      const schedule = await client.schedule.getHandle(BACKFILL_SCHEDULE_ID).describe();
      assert.equal(schedule.memo?.cron, '0 2 * * *');
      await client.connection.close();
    } finally {
      await worker.stop();
    }
  });
});

describe('seed init on a first deployment', () => {
  test('with no seed anywhere it fails clearly; with --allow-empty the tables stay empty and the catch-up backfill fills the bars', async () => {
    const db = await freshDatabase('seed_init');
    const fake = await startProviderFake();
    const bucket = uniqueName('seed-init');
    await createBucket(bucket);
    const env = {
      DATABASE_URL: db.url,
      S3_BUCKET: bucket,
      SEEDVAULT_LOCAL_SEEDS: await mkdtemp(join(tmpdir(), 'seedvault-no-seeds-')),
      SEEDVAULT_TASK_QUEUE: uniqueName('seed-init'),
      TWELVEDATA_BASE_URL: fake.url,
      TWELVEDATA_API_KEY: fake.apiKey,
    };
    const cli = (...args: string[]) => execFileAsync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env, SEEDVAULT_LOG_LEVEL: 'warn' } });
    const worker = await withWorker(testConfig(env));
    const client = await connectClient(testConfig(env));
    try {
      const refused = await cli('seed', 'init', '--json').then(() => null, (e: { code: number; stderr: string }) => e);
      assert.equal(refused?.code, 4);
      assert.match(refused.stderr, /no table was changed: no source could restore usdcop_m5_ohlcv.*; a first deployment with no snapshot anywhere: seed init --allow-empty\n$/);

      const out = JSON.parse((await cli('seed', 'init', '--allow-empty', '--json')).stdout);
      assert.deepEqual(
        out.restore.tables.map((t: { table: string; status: string }) => [t.table, t.status]),
        [['usdcop_m5_ohlcv', 'empty'], ['macro_indicators_daily', 'empty'], ['trades_history', 'empty']],
      );
      assert.equal(out.backfill.started, true, JSON.stringify(out.backfill));
      const summary = (await client.workflow.getHandle(out.backfill.workflowId).result()) as BackfillSummary;
      assert.equal(summary.completed, 1, 'the configured symbol is caught up');
      const { rows } = await sqlQuery(db.url, `select count(*)::int as n from usdcop_m5_ohlcv where symbol = 'USD/COP'`);
      assert.ok(rows[0].n > 0);
      assert.equal(rows[0].n, summary.barsInserted);

      const skipped = JSON.parse((await cli('seed', 'init', '--allow-empty', '--no-backfill', '--json')).stdout);
      assert.deepEqual(skipped.backfill, { started: false, reason: '--no-backfill' });
      assert.equal(skipped.restore.tables[0].status, 'skipped', 'the table now has rows: if-empty leaves it alone');
    } finally {
      await client.connection.close();
      await worker.stop();
      await fake.close();
      await db.drop();
    }
  });
});
