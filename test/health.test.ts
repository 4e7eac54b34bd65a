import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createPool } from '../src/db/pool.js';
import { connectClient } from '../src/temporal/connection.js';
import { HEALTH_SCHEDULE_ID, MAINTENANCE_SCHEDULE_ID } from '../src/temporal/quality-schedules.js';
import { desiredSchedules } from '../src/temporal/schedules.js';
import type { HealthReport } from '../src/quality/health.js';
import { HealthStatus } from '../src/workflows/search-attributes.js';
import { lastTradingDays, insertSessionBars } from './support/bars.js';
import { runCli } from './support/cli.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { runSnapshot } from './support/snapshot.js';
import { createBucket, testConfig, uniqueName, withWorker } from './support/stack.js';

const SYMBOL = 'USD/COP';

describe('health check', () => {
  let db: FreshDatabase;
  let sql: pg.Pool;
  let env: Record<string, string>;
  let worker: Awaited<ReturnType<typeof withWorker>>;
  before(async () => {
    db = await freshDatabase('health');
    sql = createPool(db.url, 2);
    const bucket = uniqueName('health');
    await createBucket(bucket);
    env = { DATABASE_URL: db.url, S3_BUCKET: bucket, SEEDVAULT_TASK_QUEUE: uniqueName('health') };
    worker = await withWorker(testConfig(env));
  });
  after(async () => {
    await worker?.stop();
    await sql?.end();
    await db?.drop();
  });

  const runHealth = async (): Promise<{ report: HealthReport; status: unknown }> => {
    const config = testConfig(env);
    const client = await connectClient(config);
    const handle = await client.workflow.start('healthCheck', { taskQueue: config.temporal.task_queue, workflowId: uniqueName('health-check'), args: [{}] });
    const report = (await handle.result()) as HealthReport;
    const described = await handle.describe();
    return { report, status: described.typedSearchAttributes.get(HealthStatus) };
  };
  const component = (r: HealthReport, name: string) => r.components.find((c) => c.component === name);
  const cli = (...args: string[]) => runCli(args, { ...env, SEEDVAULT_NO_LOCAL_STACK: '1' });

  test('the schedule runs at 00, 06, 12 and 18 UTC, beside the daily maintenance', () => {
    const config = testConfig(env);
    const schedules = desiredSchedules(config);
    const health = schedules.find((s) => s.scheduleId === HEALTH_SCHEDULE_ID);
    assert.deepEqual(health?.spec.cronExpressions, ['0 0,6,12,18 * * *']);
    assert.deepEqual(schedules.find((s) => s.scheduleId === MAINTENANCE_SCHEDULE_ID)?.spec.cronExpressions, ['30 3 * * *']);
    const moved = desiredSchedules({ ...config, quality: { ...config.quality, health_cron: '15 */2 * * *' } });
    assert.deepEqual(moved.find((s) => s.scheduleId === HEALTH_SCHEDULE_ID)?.spec.cronExpressions, ['15 */2 * * *'], 'quality.health_cron moves it');
  });

  test('red on a stale symbol (pipeline_health rows, HealthStatus, exit 4), green again after fresh bars', async () => {
    // Bars of one session ten trading days ago: stale by open-market time.
    await insertSessionBars(sql, SYMBOL, lastTradingDays(1, Date.now(), 10));
    // Snapshot workflow ids are global per Temporal server (seed-snapshot-<version>): a version of its own,
    // so the snapshot tests still get today's plain date.
    await runSnapshot(testConfig(env), { version: `${new Date().toISOString().slice(0, 10).replace(/-/g, '.')}-h${randomBytes(4).toString('hex')}` });

    const first = await runHealth();
    assert.equal(first.report.status, 'red');
    assert.equal(first.status, 'red');
    assert.equal(component(first.report, `symbol.${SYMBOL}.freshness`)?.status, 'red');
    assert.equal(component(first.report, 'snapshot.age')?.status, 'green');
    assert.equal(component(first.report, 'snapshot.verify')?.status, 'green');
    assert.ok(component(first.report, 'file_backups.config'), 'file backups are in the report');
    const rows = await sql.query(`select component, status, alert_level from pipeline_health order by health_id`);
    assert.equal(rows.rowCount, first.report.components.length);
    assert.ok(rows.rows.some((r) => r.component === `symbol.${SYMBOL}.freshness` && r.status === 'red' && r.alert_level === 'critical'));
    // The healthCheck logged the staleness and the hole as anomalies.
    const anomalies = await sql.query(`select anomaly_type from data_anomalies where symbol = $1 order by anomaly_type`, [SYMBOL]);
    assert.deepEqual(anomalies.rows.map((r) => r.anomaly_type), ['staleness']);

    const redCli = await cli('health', '--json', '--no-verify');
    assert.equal(redCli.code, 4);
    assert.equal((JSON.parse(redCli.stdout) as HealthReport).status, 'red');

    // Fresh bars up to the last session: fresh again (weekends and nights do not count).
    await insertSessionBars(sql, SYMBOL, lastTradingDays(2));
    const second = await runHealth();
    assert.equal(component(second.report, `symbol.${SYMBOL}.freshness`)?.status, 'green');
    assert.notEqual(second.report.status, 'red', JSON.stringify(second.report.components.filter((c) => c.status === 'red')));
    assert.notEqual(second.status, 'red');
    const greenCli = await cli('health', '--json', '--no-verify');
    assert.equal(greenCli.code, 0);
  });

  test('three consecutive failures turn a symbol red', async () => {
    await sql.query(`insert into symbol_failure_tracking (symbol, consecutive_failures, total_failures, should_alert) values ($1, 3, 3, true)
                     on conflict (symbol) do update set consecutive_failures = 3, total_failures = 3`, [SYMBOL]);
    const { report } = await runHealth();
    assert.equal(component(report, `symbol.${SYMBOL}.failures`)?.status, 'red');
    assert.equal(report.status, 'red');
    await sql.query(`update symbol_failure_tracking set consecutive_failures = 0 where symbol = $1`, [SYMBOL]);
  });
});
