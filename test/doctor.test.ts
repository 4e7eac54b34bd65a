import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runner } from 'node-pg-migrate';
import { MIGRATIONS_DIR, MIGRATIONS_TABLE } from '../src/db/migrate.js';
import { runDoctor } from '../src/doctor/index.js';
import { doctorExitCode, type DoctorCheck, type DoctorReport } from '../src/domain/doctor.js';
import { startComponent, stopComponent } from '../src/stack/index.js';
import { connectClient } from '../src/temporal/connection.js';
import { MAINTENANCE_SCHEDULE_ID } from '../src/temporal/quality-schedules.js';
import { applySchedules, SNAPSHOT_SCHEDULE_ID } from '../src/temporal/schedules.js';
import { runCli } from './support/cli.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { runSnapshot } from './support/snapshot.js';
import { createBucket, testConfig, uniqueName, withWorker } from './support/stack.js';

interface DoctorRun {
  code: number;
  report: DoctorReport;
  stderr: string;
  ms: number;
}

describe('seedvault doctor on the real stack', () => {
  let db: FreshDatabase;
  let env: Record<string, string>;
  let worker: Awaited<ReturnType<typeof withWorker>> | undefined;
  const stack = { stateDir: process.env.SEEDVAULT_STATE_DIR };

  const cli = (args: string[], extra: Record<string, string> = {}) => runCli(args, { ...env, ...extra, SEEDVAULT_NO_LOCAL_STACK: '1' });
  /** `seedvault doctor --json`: the exit code and what a script sees. */
  const doctorCli = async (extra: Record<string, string> = {}): Promise<DoctorRun> => {
    const started = Date.now();
    const r = await cli(['doctor', '--json'], extra);
    return { code: r.code, report: JSON.parse(r.stdout) as DoctorReport, stderr: r.stderr, ms: Date.now() - started };
  };
  /** The same checks in this process (a CLI start costs seconds on a busy machine). */
  const doctor = async (extra: Record<string, string> = {}): Promise<DoctorRun> => {
    const started = Date.now();
    const report = await runDoctor(testConfig({ ...env, ...extra }), 'test config', { ...process.env, ...env, ...extra });
    return { code: doctorExitCode(report.checks), report, stderr: '', ms: Date.now() - started };
  };
  const line = (run: DoctorRun, check: string): DoctorCheck => {
    const found = run.report.checks.find((c) => c.check === check);
    assert.ok(found, `doctor has a "${check}" line: ${run.report.checks.map((c) => c.check).join(', ')}`);
    return found;
  };
  const reds = (run: DoctorRun) => run.report.checks.filter((c) => c.status === 'red').map((c) => c.check);
  /** The whole report is green again: the repair worked and nothing else broke. */
  const assertAllGreen = (run: DoctorRun) => {
    assert.deepEqual(run.report.checks.filter((c) => c.status !== 'green').map((c) => `${c.check}: ${c.status} ${c.details}`), []);
    assert.equal(run.code, 0, run.stderr);
  };

  before(async () => {
    db = await freshDatabase('doctor');
    const bucket = uniqueName('doctor');
    await createBucket(bucket);
    env = { DATABASE_URL: db.url, S3_BUCKET: bucket, SEEDVAULT_TASK_QUEUE: uniqueName('doctor'), TWELVEDATA_API_KEY: 'doctor-test-key', SEEDVAULT_LOG_LEVEL: 'warn' };
  });
  after(async () => {
    await worker?.stop();
    await db?.drop();
  });

  test('no worker on a fresh task queue: red naming the queue; green with its identity once a worker polls', async () => {
    const without = await doctorCli();
    const red = line(without, 'worker');
    assert.equal(red.status, 'red');
    assert.equal(red.details, `no worker polls task queue ${env.SEEDVAULT_TASK_QUEUE}`);
    assert.match(red.fix!, /seedvault worker/);
    assert.equal(without.code, 4, 'red lines that are neither an outage nor a config value exit 4');
    assert.match(without.stderr, /^seedvault: doctor: \d+ red: .*worker/m);

    worker = await withWorker(testConfig(env));
    const withOne = line(await doctor(), 'worker');
    assert.equal(withOne.status, 'green');
    assert.match(withOne.details, new RegExp(`^1 on task queue ${env.SEEDVAULT_TASK_QUEUE}: \\d+@\\S+ \\(last poll \\d+ s ago\\)$`));
  });

  test('after schedule apply and a first snapshot everything is green, and the table has one line per check', async () => {
    // Schedules are per namespace: another test file may have applied them for its own task queue.
    const missing = await doctor();
    assert.equal(line(missing, `schedule ${SNAPSHOT_SCHEDULE_ID}`).status, 'red');
    assert.equal(line(missing, `schedule ${SNAPSHOT_SCHEDULE_ID}`).fix, 'run: seedvault setup (or: seedvault schedule apply)');
    assert.equal(line(missing, 'latest snapshot').status, 'red');
    assert.equal((await cli(['schedule', 'apply'])).code, 0);
    await runSnapshot(testConfig(env), { version: `${new Date().toISOString().slice(0, 10).replace(/-/g, '.')}-d${randomBytes(4).toString('hex')}` });

    const run = await doctor();
    assertAllGreen(run);
    assert.match(line(run, `schedule ${SNAPSHOT_SCHEDULE_ID}`).details, /^next run \d{4}-/);
    assert.match(line(run, 'latest snapshot').details, /^latest .*, 0\.0 days old$/);
    assert.equal(line(run, 'migrations').status, 'green');
    assert.equal(line(run, 'search attributes').status, 'green');

    const human = await cli(['doctor']);
    assert.equal(human.code, 0);
    const lines = human.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^doctor: green \(/);
    assert.match(lines[1]!, /^STATUS\s+CHECK\s+DETAILS\s+FIX$/);
    assert.equal(lines.length, 2 + run.report.checks.length);
  });

  test('a deleted schedule is red (schedule apply), a paused one yellow (unpause); both repaired to green', async () => {
    const client = await connectClient(testConfig(env));
    try {
      await client.schedule.getHandle(MAINTENANCE_SCHEDULE_ID).delete();
      const deleted = await doctor();
      assert.deepEqual(reds(deleted), [`schedule ${MAINTENANCE_SCHEDULE_ID}`]);
      assert.equal(line(deleted, `schedule ${MAINTENANCE_SCHEDULE_ID}`).fix, 'run: seedvault setup (or: seedvault schedule apply)');
      assert.equal(line(deleted, `last run ${MAINTENANCE_SCHEDULE_ID}`).status, 'skipped');
      await applySchedules(client, testConfig(env));
      assertAllGreen(await doctor());

      await client.schedule.getHandle(SNAPSHOT_SCHEDULE_ID).pause('doctor test');
      const paused = await doctor();
      assert.equal(paused.report.status, 'yellow');
      assert.equal(paused.code, 0, 'yellow is not a failure');
      const pausedLine = line(paused, `schedule ${SNAPSHOT_SCHEDULE_ID}`);
      assert.equal(pausedLine.status, 'yellow');
      assert.match(pausedLine.details, /^paused \(doctor test\); next run .* once unpaused$/);
      assert.equal(pausedLine.fix, `seedvault schedule unpause ${SNAPSHOT_SCHEDULE_ID}`);
      await client.schedule.getHandle(SNAPSHOT_SCHEDULE_ID).unpause();
      assertAllGreen(await doctor());
    } finally {
      await client.connection.close();
    }
  });

  test("a schedule's last run: its completed run is named as the last success", async () => {
    const client = await connectClient(testConfig(env));
    try {
      const handle = client.schedule.getHandle(MAINTENANCE_SCHEDULE_ID);
      await handle.trigger();
      let workflowId: string | undefined;
      for (let i = 0; i < 60 && !workflowId; i += 1) {
        const action = (await handle.describe()).info.recentActions.at(-1)?.action;
        if (action?.type === 'startWorkflow') workflowId = action.workflow.workflowId;
        else await sleep(500);
      }
      assert.ok(workflowId, 'the trigger started a run');
      await client.workflow.getHandle(workflowId).result();
      const lastRun = line(await doctor(), `last run ${MAINTENANCE_SCHEDULE_ID}`);
      assert.equal(lastRun.status, 'green');
      assert.match(lastRun.details, /^last success \d{4}-\d\d-\d\dT/);
    } finally {
      await client.connection.close();
    }
  });

  test('a migration not applied is red naming it; seedvault migrate repairs it', async () => {
    const undone = await runner({ databaseUrl: db.url, dir: MIGRATIONS_DIR, direction: 'down', count: 1, migrationsTable: MIGRATIONS_TABLE, singleTransaction: true, logger: { info() {}, warn() {}, error() {}, debug() {} } });
    const name = undone[0]!.name;
    const run = await doctor();
    assert.deepEqual(reds(run), ['migrations']);
    assert.equal(line(run, 'migrations').details, `1 not applied: ${name}`);
    assert.equal(line(run, 'migrations').fix, 'run: seedvault setup (or: seedvault migrate)');
    assert.equal((await cli(['setup'])).code, 0);
    assertAllGreen(await doctor());
  });

  test('file backup encryption: an unreadable key is red naming where it is looked for; a valid key is green with its id', async () => {
    const on = { SEEDVAULT_FILE_BACKUP_ENCRYPT: 'true' };
    const unset = await doctorCli(on);
    assert.deepEqual(reds(unset), ['file backup key']);
    assert.equal(unset.code, 2, 'a config value');
    assert.match(line(unset, 'file backup key').details, /key_env: environment variable SEEDVAULT_FILE_BACKUP_KEY is not set/);
    const garbage = 'not-a-key-at-all';
    const bad = await doctor({ ...on, SEEDVAULT_FILE_BACKUP_KEY: garbage });
    assert.match(line(bad, 'file backup key').details, /must be 32 bytes/);
    assert.ok(!JSON.stringify(bad.report).includes(garbage), 'the key is never printed');
    const key = randomBytes(32).toString('hex');
    const good = await doctor({ ...on, SEEDVAULT_FILE_BACKUP_KEY: key });
    assertAllGreen(good);
    assert.match(line(good, 'file backup key').details, /^key id [0-9a-f]{16} from environment variable SEEDVAULT_FILE_BACKUP_KEY$/);
    assert.ok(!JSON.stringify(good.report).includes(key));
  });

  /** Stops a component, judges doctor's report while it is down, restarts it and expects all green again. */
  const whileStopped = async (component: 'minio' | 'postgres', judge: () => Promise<void>) => {
    await stopComponent(component, stack);
    try {
      await judge();
    } finally {
      await startComponent(component, stack);
    }
    assertAllGreen(await doctor());
  };

  test('MinIO stopped: storage red naming the endpoint (exit 3), the snapshot line skipped; green after the restart', () =>
    whileStopped('minio', async () => {
      const run = await doctorCli();
      assert.deepEqual(reds(run), ['storage']);
      assert.equal(run.code, 3);
      const storage = line(run, 'storage');
      assert.match(storage.details, new RegExp(`^cannot reach ${process.env.S3_ENDPOINT!.replace(/[.]/g, '\\.')}: `));
      assert.match(storage.fix!, /start MinIO/);
      assert.equal(line(run, 'latest snapshot').status, 'skipped');
    }));

  test('PostgreSQL stopped: postgres red (exit 3), migrations skipped; green after the restart', () =>
    whileStopped('postgres', async () => {
      const run = await doctor();
      assert.deepEqual(reds(run), ['postgres']);
      assert.equal(run.code, 3);
      assert.match(line(run, 'postgres').details, /^cannot reach PostgreSQL at 127\.0\.0\.1:\d+\/doctor_\w+: /);
      assert.equal(line(run, 'migrations').status, 'skipped');
    }));

  test('services that accept connections and never answer: doctor still ends in seconds, each red', async () => {
    const sockets = new Set<Socket>();
    const tarpit: Server = createServer((socket) => sockets.add(socket.on('error', () => {})));
    await new Promise<void>((resolve) => tarpit.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(tarpit.address() as { port: number }).port}`;
    try {
      const run = await doctorCli({ DATABASE_URL: `postgres://seedvault@${address}/x`, S3_ENDPOINT: `http://${address}`, TEMPORAL_ADDRESS: address });
      assert.ok(run.ms < 20_000, `took ${run.ms} ms`);
      assert.equal(run.code, 3);
      assert.deepEqual(reds(run), ['postgres', 'storage', 'temporal']);
      assert.ok(run.report.checks.filter((c) => c.status === 'skipped').length >= 3);
    } finally {
      for (const socket of sockets) socket.destroy();
      tarpit.close();
    }
  });

  test('a namespace that does not exist: temporal red saying how to create it (exit 2), the checks inside it skipped', async () => {
    const namespace = uniqueName('no-namespace');
    const run = await doctor({ TEMPORAL_NAMESPACE: namespace });
    assert.deepEqual(reds(run), ['temporal']);
    assert.equal(run.code, 2, 'a config value (or a namespace job that did not run)');
    assert.match(line(run, 'temporal').details, new RegExp(`^namespace ${namespace} does not exist at `));
    assert.equal(line(run, 'temporal').fix, `create it: temporal operator namespace create --namespace ${namespace} (or fix temporal.namespace)`);
    assert.equal(line(run, 'search attributes').status, 'skipped');
    assert.equal(line(run, 'worker').status, 'skipped');
  });

  test('an invalid config is one red line naming the key (exit 2)', async () => {
    const run = await doctorCli({ SEEDVAULT_MAX_ACTIVITIES: 'lots' });
    assert.equal(run.code, 2);
    assert.deepEqual(run.report.checks.map((c) => [c.check, c.status]), [['config', 'red']]);
    assert.match(run.report.checks[0]!.details, /temporal\.max_concurrent_activities/);
  });
});
