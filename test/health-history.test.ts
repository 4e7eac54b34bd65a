import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { ComponentHistory } from '../src/domain/health-history.js';
import { createPool } from '../src/db/pool.js';
import type { HealthReport } from '../src/quality/health.js';
import { connectClient } from '../src/temporal/connection.js';
import { runCli } from './support/cli.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { createBucket, testConfig, uniqueName, withWorker } from './support/stack.js';

const HOUR = 3_600_000;
/** How far apart the test's clock reading and the CLI's may be. */
const SLACK_MS = 60_000;

describe('health history', () => {
  let db: FreshDatabase;
  let sql: pg.Pool;
  let env: Record<string, string>;
  let worker: Awaited<ReturnType<typeof withWorker>>;
  before(async () => {
    db = await freshDatabase('health_history');
    sql = createPool(db.url, 2);
    const bucket = uniqueName('health-history');
    await createBucket(bucket);
    env = { DATABASE_URL: db.url, S3_BUCKET: bucket, SEEDVAULT_TASK_QUEUE: uniqueName('health-history') };
    worker = await withWorker(testConfig(env));
  });
  after(async () => {
    await worker?.stop();
    await sql?.end();
    await db?.drop();
  });

  const cli = (...args: string[]) => runCli(args, { ...env, SEEDVAULT_NO_LOCAL_STACK: '1' });
  const history = async (hours: number): Promise<ComponentHistory[]> => {
    const result = await cli('health', 'history', '--hours', String(hours), '--json');
    assert.equal(result.code, 0, result.stderr);
    return (JSON.parse(result.stdout) as { components: ComponentHistory[] }).components;
  };
  const insert = (component: string, status: string, hoursAgo: number) =>
    sql.query(`insert into pipeline_health (pipeline_name, component, status, measured_at) values ('seedvault', $1, $2, now() - make_interval(secs => $3))`, [
      component,
      status,
      hoursAgo * 3600,
    ]);
  const near = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < SLACK_MS, `${what}: ${actual} ms, expected about ${expected}`);

  test('summarises rows at known times: level at the window start, time per level, changes, last status', async () => {
    await insert('test.flappy', 'green', 30);
    await insert('test.flappy', 'red', 20);
    await insert('test.flappy', 'yellow', 14);
    await insert('test.flappy', 'green', 8);
    await insert('test.steady', 'yellow', 3);
    await insert('test.long_gone', 'red', 50);
    await sql.query(`insert into pipeline_health (pipeline_name, component, status, measured_at) values ('other_pipeline', 'test.flappy', 'red', now() - interval '1 hour')`);

    const day = await history(24);
    assert.deepEqual(day.map((c) => c.component), ['test.flappy', 'test.steady'], 'only components measured in the window, only this pipeline');
    const flappy = day[0]!;
    assert.equal(flappy.worst, 'red');
    assert.equal(flappy.changes, 3);
    assert.equal(flappy.measurements, 3);
    assert.equal(flappy.last_status, 'green');
    near(Date.now() - Date.parse(flappy.last_measured_at), 8 * HOUR, 'last measured');
    near(flappy.time_ms.green, 4 * HOUR + 8 * HOUR, 'green: from the window start (the row 30 h ago) and the last 8 h');
    near(flappy.time_ms.red, 6 * HOUR, 'red');
    near(flappy.time_ms.yellow, 6 * HOUR, 'yellow');
    near(day[1]!.time_ms.yellow, 3 * HOUR, 'steady');

    // A shorter window starts inside the yellow stretch.
    const recent = (await history(10)).find((c) => c.component === 'test.flappy')!;
    assert.equal(recent.worst, 'green');
    near(recent.time_ms.yellow, 2 * HOUR, 'yellow in the last 10 h');
    assert.equal(recent.time_ms.red, 0);
    assert.equal(recent.changes, 1);

    const human = await cli('health', 'history', '--hours', '24');
    assert.equal(human.code, 0);
    assert.match(human.stdout, /^COMPONENT +WORST +GREEN +YELLOW +RED +CHANGES +LAST +LAST_MEASURED$/m);
    // Seconds pass between the inserts and the CLI's clock: 12 h of green may show as 11h 59m.
    assert.match(human.stdout, /^test\.flappy +red +(12h|11h 59m) +6h +6h +3 +green /m);
  });

  test('a real health run writes each check\'s duration and the worker\'s CPU and memory, and shows in the history', async () => {
    const config = testConfig(env);
    const client = await connectClient(config);
    const report = (await client.workflow.execute('healthCheck', { taskQueue: config.temporal.task_queue, workflowId: uniqueName('health-check'), args: [{}] })) as HealthReport;
    const { rows } = await sql.query<{ component: string; response_time_ms: number | null; cpu: string | null; memory: string | null }>(
      `select component, response_time_ms, cpu_usage_pct::text as cpu, memory_usage_pct::text as memory
       from pipeline_health where details->>'run_id' is not null order by component`,
    );
    assert.equal(rows.length, report.components.length);
    for (const row of rows) {
      assert.ok(row.response_time_ms !== null && row.response_time_ms >= 0, `${row.component} has a response time`);
      assert.equal(row.response_time_ms, report.components.find((c) => c.component === row.component)?.response_time_ms);
      assert.equal(Number(row.cpu), report.cpu_usage_pct);
      assert.equal(Number(row.memory), report.memory_usage_pct);
    }
    // The worker holds tens of MiB at least: a share above zero of any machine or cgroup.
    assert.ok(report.memory_usage_pct > 0 && report.memory_usage_pct <= 100, `memory ${report.memory_usage_pct}`);
    assert.ok(report.cpu_usage_pct >= 0 && report.cpu_usage_pct <= 100, `cpu ${report.cpu_usage_pct}`);

    const recorded = (await history(1)).filter((c) => !c.component.startsWith('test.'));
    assert.deepEqual(recorded.map((c) => c.component), report.components.map((c) => c.component).sort());
    for (const c of recorded) {
      assert.equal(c.last_measured_at, report.measured_at);
      assert.equal(c.last_status, report.components.find((r) => r.component === c.component)?.status);
    }
  });

  test('bad --hours is a one-line error naming the flag, exit 2', async () => {
    for (const bad of ['0', 'abc', '1.5', '721']) {
      const result = await cli('health', 'history', '--hours', bad);
      assert.equal(result.code, 2, bad);
      assert.equal(result.stderr.trim().split('\n').length, 1);
      assert.match(result.stderr, /^seedvault: --hours: expected an integer from 1 to 720, got/);
    }
  });
});
