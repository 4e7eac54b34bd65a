import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { CLI } from '../bench/support.js';
import { migrate, MIGRATIONS_DIR } from '../src/db/migrate.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { sql } from './support/restore.js';
import { uniqueName } from './support/stack.js';

const EXPECTED_TABLES = [
  'backfill_state_persistent',
  'backup_metadata',
  'data_anomalies',
  'data_gaps',
  'duplicate_records_log',
  'macro_indicators_daily',
  'pipeline_health',
  'ready_signals',
  'symbol_failure_tracking',
  'trades_history',
  'usdcop_m5_ohlcv',
];

describe('migrations', () => {
  let db: FreshDatabase;
  let client: pg.Client;

  before(async () => {
    db = await freshDatabase('migrations');
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  after(async () => {
    await client?.end();
    await db?.drop();
  });

  test('apply on a fresh database, in order, and a second run applies nothing', async () => {
    assert.deepEqual(db.applied.slice(0, 3), ['001_critical_tables', '002_operational_tables', '003_backfill_quality_tables']);
    assert.deepEqual(await migrate(db.url), []);
  });

  test('create every expected table', async () => {
    const { rows } = await client.query<{ table_name: string }>(
      `select table_name from information_schema.tables where table_schema = 'public' and table_name = any($1)`,
      [EXPECTED_TABLES],
    );
    assert.deepEqual(rows.map((r) => r.table_name).sort(), EXPECTED_TABLES);
  });

  test('a valid bar is accepted and upserts on (symbol, time)', async () => {
    const upsert = `insert into usdcop_m5_ohlcv (symbol, time, open, high, low, close, volume)
      values ('USD/COP', '2025-06-03 13:00:00+00', $1, 4101.5, 4098.25, 4100.75, 12)
      on conflict (symbol, time) do update set open = excluded.open`;
    await client.query(upsert, [4100]);
    await client.query(upsert, [4100.5]);
    const { rows } = await client.query(`select open, source from usdcop_m5_ohlcv`);
    assert.deepEqual(rows, [{ open: '4100.5000', source: 'twelvedata' }]);
  });

  test('CHECK constraints reject impossible bars', async () => {
    const insert = (open: number, high: number, low: number, close: number) =>
      client.query(
        `insert into usdcop_m5_ohlcv (symbol, time, open, high, low, close) values ('USD/COP', '2025-06-03 13:05:00+00', $1, $2, $3, $4)`,
        [open, high, low, close],
      );
    // high < low also puts open and close outside [low, high]; any of those checks may report it.
    await assert.rejects(insert(4100, 4090, 4095, 4092), /violates check constraint "usdcop_m5_ohlcv_/);
    await assert.rejects(insert(4110, 4105, 4095, 4100), /usdcop_m5_ohlcv_open_within_range/);
    await assert.rejects(insert(4100, 4105, 4095, 4090), /usdcop_m5_ohlcv_close_within_range/);
    await assert.rejects(insert(0, 0, 0, 0), /usdcop_m5_ohlcv_prices_positive/);
  });

  test('operational enums are enforced and gaps dedupe on (symbol, gap_start, gap_end)', async () => {
    await assert.rejects(
      client.query(`insert into ready_signals (pipeline_run_id, signal_type) values ('run_1', 'data_ready')`),
      /check constraint/,
    );
    const signal = await client.query(`insert into ready_signals (pipeline_run_id, signal_type) values ('run_1', 'DATA_READY') returning status, expires_at > now() as pending`);
    assert.deepEqual(signal.rows, [{ status: 'active', pending: true }]);

    const gap = `insert into data_gaps (symbol, gap_start, gap_end, missing_points, detected_by, severity)
      values ('USD/COP', '2025-06-03 14:00+00', '2025-06-03 14:10+00', 3, 'test', 'LOW')
      on conflict (symbol, gap_start, gap_end) do nothing returning gap_id`;
    assert.equal((await client.query(gap)).rowCount, 1);
    assert.equal((await client.query(gap)).rowCount, 0);
    await assert.rejects(
      client.query(`insert into data_gaps (symbol, gap_start, gap_end, missing_points, detected_by, severity) values ('X', now(), now(), 1, 't', 'low')`),
      /check constraint/,
    );
  });

  test('updated_at follows updates', async () => {
    await client.query(`insert into symbol_failure_tracking (symbol, updated_at) values ('USD/COP', '2020-01-01')`);
    await client.query(`update symbol_failure_tracking set consecutive_failures = 1, total_failures = 1 where symbol = 'USD/COP'`);
    const { rows } = await client.query(`select updated_at > '2020-01-02' as touched from symbol_failure_tracking`);
    assert.deepEqual(rows, [{ touched: true }]);
  });
});

describe('seedvault worker --migrate', () => {
  test('applies the pending migrations before polling; without the flag the schema is left alone', async () => {
    const db = await freshDatabase('worker_migrate', { migrated: false });
    const env = { ...process.env, DATABASE_URL: db.url, SEEDVAULT_TASK_QUEUE: uniqueName('worker-migrate'), SEEDVAULT_NO_LOCAL_STACK: '1', SEEDVAULT_LOG_LEVEL: 'info' };
    const applied = async () => {
      const { rows } = await sql(db.url, `select count(*)::int as n from pg_tables where tablename = 'seedvault_migrations'`);
      return rows[0].n ? (await sql(db.url, 'select count(*)::int as n from seedvault_migrations')).rows[0].n : 0;
    };
    try {
      for (const args of [['worker'], ['worker', '--migrate']]) {
        const worker = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
        let log = '';
        worker.stderr.on('data', (d: Buffer) => (log += d));
        // Migrations (when asked for) come before the worker starts polling.
        let count: number;
        try {
          for (let i = 0; !log.includes('worker started'); i += 1) {
            assert.ok(i < 600 && worker.exitCode === null, `worker ${args.join(' ')} did not start: ${log.slice(-400)}`);
            await sleep(50);
          }
          count = await applied();
        } finally {
          const exited = worker.exitCode === null ? once(worker, 'exit') : Promise.resolve();
          worker.kill('SIGTERM');
          await exited;
        }
        if (args.includes('--migrate')) assert.equal(count, readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).length);
        else assert.equal(count, 0);
      }
    } finally {
      await db.drop();
    }
  });
});
