import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createPool } from '../src/db/pool.js';
import { CLI } from '../bench/support.js';
import { RETENTION_RULES } from '../src/quality/retention.js';
import type { MaintenanceResult } from '../src/workflows/maintenance.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { execFileAsync } from './support/snapshot.js';
import { testConfig, uniqueName, withWorker } from './support/stack.js';

/** Rows per rule: how many are past their age (deleted) and how many must stay. */
const EXPECTED: Record<string, { old: number; kept: number }> = {
  pipeline_runs: { old: 2, kept: 2 },
  api_usage: { old: 1, kept: 1 },
  ready_signals: { old: 2, kept: 2 },
  data_gaps: { old: 1, kept: 2 },
  pipeline_health: { old: 5, kept: 1 },
  data_anomalies: { old: 1, kept: 1 },
  duplicate_records_log: { old: 1, kept: 1 },
  alert_deliveries: { old: 1, kept: 1 },
  backup_metadata: { old: 1, kept: 2 },
};

describe('retention maintenance', () => {
  let db: FreshDatabase;
  let sql: pg.Pool;
  let env: Record<string, string>;
  let worker: Awaited<ReturnType<typeof withWorker>>;
  before(async () => {
    db = await freshDatabase('retention');
    sql = createPool(db.url, 2);
    env = { DATABASE_URL: db.url, SEEDVAULT_TASK_QUEUE: uniqueName('retention') };
    worker = await withWorker(testConfig(env));
    await sql.query(`
      insert into backfill_state_persistent (symbol, status, completed_at, created_at) values
        ('A', 'completed', now() - interval '91 days', now() - interval '91 days'),
        ('B', 'failed',    now() - interval '100 days', now() - interval '100 days'),
        ('C', 'completed', now() - interval '89 days', now() - interval '89 days'),
        ('D', 'in_progress', null, now() - interval '200 days');
      insert into provider_rate_budget (provider, window_kind, window_start, used) values
        ('twelvedata', 'day', date_trunc('day', now()) - interval '31 days', 5),
        ('twelvedata', 'day', date_trunc('day', now()) - interval '29 days', 5);
      insert into ready_signals (pipeline_run_id, signal_type, status, completed_at, created_at, updated_at, expires_at) values
        ('r1', 'DATA_READY', 'completed', now() - interval '8 days', now() - interval '9 days', now() - interval '8 days', now() - interval '9 days'),
        ('r2', 'DATA_READY', 'expired', null, now() - interval '9 days', now() - interval '8 days', now() - interval '9 days'),
        ('r3', 'DATA_READY', 'completed', now() - interval '6 days', now() - interval '6 days', now() - interval '6 days', now() - interval '6 days'),
        ('r4', 'DATA_READY', 'active', null, now() - interval '30 days', now() - interval '30 days', now() - interval '29 days');
      insert into data_gaps (symbol, gap_start, gap_end, missing_points, detected_by, severity, fill_status, resolved_at) values
        ('A', '2025-01-01', '2025-01-02', 1, 'test', 'LOW', 'filled', now() - interval '31 days'),
        ('A', '2025-02-01', '2025-02-02', 1, 'test', 'LOW', 'filled', now() - interval '29 days'),
        ('A', '2024-03-01', '2024-03-02', 1, 'test', 'LOW', 'detected', null);
      insert into pipeline_health (pipeline_name, component, status, measured_at)
        select 'seedvault', 'c' || i, 'green', now() - interval '31 days' from generate_series(1, 5) i;
      insert into pipeline_health (pipeline_name, component, status, measured_at) values ('seedvault', 'new', 'green', now() - interval '1 day');
      insert into data_anomalies (symbol, anomaly_type, severity, anomaly_time, detected_at) values
        ('A', 'gap', 'HIGH', '2025-01-01', now() - interval '91 days'),
        ('A', 'gap', 'HIGH', '2025-01-02', now() - interval '89 days');
      insert into duplicate_records_log (symbol, duplicates_removed, kept_rule, cleaned_at) values
        ('A', 1, 'x', now() - interval '91 days'), ('A', 1, 'x', now() - interval '1 day');
      insert into alert_deliveries (dedupe_key, channel, kind, status, updated_at) values
        ('test:old', 'ops', 'test', 'delivered', now() - interval '31 days'), ('test:new', 'ops', 'test', 'failed', now() - interval '29 days');
      insert into backup_metadata (file_path, is_active, deactivated_at, created_at) values
        ('old', false, now() - interval '8 days', now() - interval '60 days'),
        ('recent', false, now() - interval '6 days', now() - interval '60 days'),
        ('active', true, null, now() - interval '400 days');
    `);
  });
  after(async () => {
    await worker?.stop();
    await sql?.end();
    await db?.drop();
  });

  const counts = async () => {
    const out: Record<string, number> = {};
    for (const rule of RETENTION_RULES) out[rule.name] = (await sql.query(`select count(*)::int as n from ${rule.table}`)).rows[0].n;
    return out;
  };
  const cli = (...args: string[]) =>
    execFileAsync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env, SEEDVAULT_NO_LOCAL_STACK: '1' } });

  test('dry run prints the counts and deletes nothing; the run deletes exactly the rows past their age, in batches', async () => {
    const before = await counts();
    const dry = JSON.parse((await cli('maintenance', '--dry-run', '--json')).stdout) as MaintenanceResult;
    assert.equal(dry.dryRun, true);
    assert.deepEqual(Object.fromEntries(dry.retention.map((r) => [r.name, r.rows])), Object.fromEntries(Object.entries(EXPECTED).map(([k, v]) => [k, v.old])));
    assert.deepEqual(await counts(), before);
    const human = (await cli('maintenance', '--dry-run')).stdout;
    assert.match(human, /pipeline_health\s+pipeline_health\s+5/);

    const real = JSON.parse((await cli('maintenance', '--json', '--batch-size', '2')).stdout) as MaintenanceResult;
    assert.equal(real.expiredSignals, 1, 'the overdue active signal expired');
    const byName = Object.fromEntries(real.retention.map((r) => [r.name, r]));
    for (const [name, { old }] of Object.entries(EXPECTED)) assert.equal(byName[name]!.rows, old, name);
    assert.equal(byName.pipeline_health!.batches, 3);
    assert.deepEqual(await counts(), Object.fromEntries(Object.entries(EXPECTED).map(([k, v]) => [k, v.kept])));
    const left = await sql.query(`select file_path from backup_metadata order by file_path`);
    assert.deepEqual(left.rows.map((r) => r.file_path), ['active', 'recent']);
    const signals = await sql.query(`select pipeline_run_id, status from ready_signals order by pipeline_run_id`);
    assert.deepEqual(signals.rows.map((r) => [r.pipeline_run_id, r.status]), [['r3', 'completed'], ['r4', 'expired']]);

    const again = JSON.parse((await cli('maintenance', '--json')).stdout) as MaintenanceResult;
    assert.ok(again.retention.every((r) => r.rows === 0));
  });
});
