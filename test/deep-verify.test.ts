import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import pg from 'pg';
import { createPool } from '../src/db/pool.js';
import { versionPrefix } from '../src/domain/version.js';
import { healthReport } from '../src/quality/health.js';
import { createStorage } from '../src/storage/index.js';
import { applySchedules } from '../src/temporal/schedules.js';
import { DEEP_VERIFY_SCHEDULE_ID } from '../src/temporal/verify-schedule.js';
import { runCli } from './support/cli.js';
import { freshDeployment, type FreshDeployment } from './support/deploy.js';
import { runSnapshot } from './support/snapshot.js';
import { withWorker } from './support/stack.js';

const HOUR = 3_600_000;

describe('scheduled deep verify', () => {
  let deployment: FreshDeployment;
  let client: Client;
  let sql: pg.Pool;
  let worker: Awaited<ReturnType<typeof withWorker>>;
  before(async () => {
    // A namespace of its own: the schedule id is fixed.
    deployment = await freshDeployment('deepverify');
    client = await deployment.client();
    sql = createPool(deployment.db.url, 2);
  });
  after(async () => {
    await worker?.stop();
    await sql?.end();
    await deployment?.drop();
  });

  /** Triggers the schedule and waits for the run it starts to close; its status. */
  const triggerAndWait = async (): Promise<string> => {
    const before = new Set<string>();
    for await (const w of client.workflow.list({ query: `WorkflowType = 'verifySnapshot'` })) before.add(w.runId);
    await client.schedule.getHandle(DEEP_VERIFY_SCHEDULE_ID).trigger();
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(500)) {
      for await (const w of client.workflow.list({ query: `WorkflowType = 'verifySnapshot'` })) {
        if (!before.has(w.runId) && w.status.name !== 'RUNNING') return w.status.name;
      }
    }
    throw new Error('the triggered deep verify did not finish in 2 minutes');
  };
  const deepVerifyComponent = async () => {
    const report = await healthReport({ config: deployment.config, pool: sql, storage: createStorage(deployment.config.storage), verifySnapshot: false });
    return report.components.find((c) => c.component === 'snapshot.deep_verify');
  };

  test('setup creates the schedule weekly, Sundays 04:00 UTC, latest version only; the config moves or removes it', async () => {
    const setup = await runCli(['setup'], deployment.env);
    assert.equal(setup.code, 0, setup.stderr);
    assert.match(setup.stdout, new RegExp(`^schedules created: .*${DEEP_VERIFY_SCHEDULE_ID}`, 'm'));
    const described = await client.schedule.getHandle(DEEP_VERIFY_SCHEDULE_ID).describe();
    assert.deepEqual(described.spec.intervals, [{ every: 7 * 24 * HOUR, offset: 76 * HOUR }]);
    assert.equal(described.action.type, 'startWorkflow');
    assert.equal(described.action.type === 'startWorkflow' && described.action.workflowType, 'verifySnapshot');
    assert.deepEqual(described.action.type === 'startWorkflow' && described.action.args, [{ version: 'latest' }]);
    // The interval counts from the epoch (a Thursday): the next run is a Sunday at 04:00 UTC.
    const next = described.info.nextActionTimes[0]!;
    assert.equal(next.getUTCDay(), 0);
    assert.equal(next.getUTCHours(), 4);

    const daily = { ...deployment.config, backup: { ...deployment.config.backup, deep_verify: { enabled: true, interval_days: 1, versions: 'all' as const } } };
    await applySchedules(client, daily);
    const moved = await client.schedule.getHandle(DEEP_VERIFY_SCHEDULE_ID).describe();
    assert.deepEqual(moved.spec.intervals, [{ every: 24 * HOUR, offset: 4 * HOUR }]);
    assert.deepEqual(moved.action.type === 'startWorkflow' && moved.action.args, [{ version: 'all' }]);

    const off = { ...daily, backup: { ...daily.backup, deep_verify: { ...daily.backup.deep_verify, enabled: false } } };
    const results = await applySchedules(client, off);
    assert.ok(results.some((r) => r.scheduleId === DEEP_VERIFY_SCHEDULE_ID && r.action === 'deleted'));
    await assert.rejects(client.schedule.getHandle(DEEP_VERIFY_SCHEDULE_ID).describe());
    await applySchedules(client, deployment.config);
  });

  test('a triggered run verifies the latest snapshot and records it; a tampered object turns health red', async () => {
    worker = await withWorker(deployment.config);
    const { version } = await runSnapshot(deployment.config);
    assert.match((await deepVerifyComponent())!.details, /no deep verify recorded yet/);

    assert.equal(await triggerAndWait(), 'COMPLETED');
    const verified = await sql.query(`select table_name, validation_status, metadata->'deep_verify'->'problems' as problems from backup_metadata where snapshot_version = $1`, [version]);
    assert.ok(verified.rowCount! > 0);
    for (const row of verified.rows) {
      assert.equal(row.validation_status, 'validated', row.table_name);
      assert.deepEqual(row.problems, []);
    }
    const green = await deepVerifyComponent();
    assert.equal(green?.status, 'green');
    assert.match(green!.details, new RegExp(`last deep verify 0\\.0 days ago \\(${version.replaceAll('.', '\\.')} ok\\)`));

    // Overwrite one table's file with other bytes: the sha256 no longer matches the manifest.
    const storage = createStorage(deployment.config.storage);
    const keys = (await storage.list(versionPrefix(version))).map((o) => o.key).filter((k) => /trades_history/.test(k));
    assert.equal(keys.length, 1, `one trades_history object in ${JSON.stringify(keys)}`);
    await storage.put(keys[0]!, Readable.from([Buffer.from('not the snapshot any more')]));

    assert.equal(await triggerAndWait(), 'FAILED');
    const failed = await sql.query(`select validation_status from backup_metadata where snapshot_version = $1 and table_name = 'trades_history'`, [version]);
    assert.equal(failed.rows[0]?.validation_status, 'failed');
    const red = await deepVerifyComponent();
    assert.equal(red?.status, 'red');
    assert.match(red!.details, new RegExp(`${version.replaceAll('.', '\\.')} failed deep verify at .*trades_history`));
    const health = await runCli(['health', '--no-verify', '--json'], deployment.env);
    assert.equal(health.code, 4, 'health exits 4 on red');
  });
});
