import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { CLI } from '../bench/support.js';
import type { SetupItem } from '../src/client/setup-run.js';
import { migrationNames } from '../src/db/migrate.js';
import { createStorage } from '../src/storage/index.js';
import { fileBackupSchedules } from '../src/temporal/file-backup-schedules.js';
import { desiredSchedules } from '../src/temporal/schedules.js';
import { ALL_SEARCH_ATTRIBUTES } from '../src/workflows/search-attributes.js';
import { freshDeployment, type FreshDeployment } from './support/deploy.js';
import { sql as query } from './support/restore.js';
import { runProcess } from './support/process.js';

interface SetupOutput {
  check: boolean;
  items: SetupItem[];
}

describe('seedvault setup on a new deployment', () => {
  let deployment: FreshDeployment;
  let client: Client;
  const cli = (args: string[], env: Record<string, string> = {}) =>
    runProcess([process.execPath, CLI, ...args], { env: { ...process.env, ...deployment.env, ...env } });
  const scheduleIds = () => desiredSchedules(deployment.config).map((s) => s.scheduleId).sort();
  const listedSchedules = async () => {
    const ids: string[] = [];
    for await (const s of client.schedule.list()) ids.push(s.scheduleId);
    return ids.sort();
  };
  const registeredAttributes = async () =>
    Object.keys((await client.connection.operatorService.listSearchAttributes({ namespace: deployment.namespace })).customAttributes ?? {});

  before(async () => {
    deployment = await freshDeployment('setup');
    client = await deployment.client();
  });
  after(() => deployment.drop());

  test('--check changes nothing and exits 4 naming everything that is missing', async () => {
    const run = await cli(['setup', '--check', '--json']);
    assert.equal(run.code, 4, run.stderr);
    const out = JSON.parse(run.stdout) as SetupOutput;
    assert.equal(out.check, true);
    assert.ok(out.items.every((i) => i.state === 'missing'), JSON.stringify(out.items));
    assert.deepEqual(out.items.filter((i) => i.kind === 'migration').map((i) => i.name), migrationNames());
    assert.deepEqual(out.items.filter((i) => i.kind === 'bucket').map((i) => i.name), [`s3://${deployment.bucket}`]);
    assert.deepEqual(out.items.filter((i) => i.kind === 'schedule').map((i) => i.name).sort(), scheduleIds());
    assert.equal(out.items.filter((i) => i.kind === 'search attribute').length, ALL_SEARCH_ATTRIBUTES.length);
    assert.match(run.stderr, /^seedvault: not set up: migration 001_critical_tables, .*bucket s3:\/\/setup-.*schedule seed-snapshot-weekly.*; run: seedvault setup\n$/);

    assert.equal(await createStorage(deployment.config.storage).bucketExists(), false);
    const { rows } = await query(deployment.db.url, `select to_regclass('seedvault_migrations') is null as none`);
    assert.equal(rows[0].none, true, 'no migrations table');
    assert.deepEqual(await registeredAttributes(), []);
    await assert.rejects(client.schedule.getHandle('seed-snapshot-weekly').describe(), ScheduleNotFoundError);
  });

  test('two setups at once both succeed and leave one of each thing', async () => {
    const runs = await Promise.all([cli(['setup', '--json']), cli(['setup', '--json'])]);
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    const items = runs.flatMap((r) => (JSON.parse(r.stdout) as SetupOutput).items);
    const created = (kind: SetupItem['kind'], name: string) => items.filter((i) => i.kind === kind && i.name === name && i.state === 'created').length;
    for (const name of migrationNames()) assert.equal(created('migration', name), 1, `migration ${name} applied once`);
    assert.equal(created('bucket', `s3://${deployment.bucket}`), 1, 'bucket created once');
    for (const { name } of ALL_SEARCH_ATTRIBUTES) assert.equal(created('search attribute', name), 1, `${name} registered once`);
    for (const id of scheduleIds()) {
      assert.equal(created('schedule', id), 1, `schedule ${id} created once`);
      assert.equal(items.filter((i) => i.name === id && i.state === 'ok').length, 1, `the other run found ${id} in place, unchanged`);
    }

    const { rows } = await query(deployment.db.url, 'select name, count(*)::int as n from seedvault_migrations group by name order by name');
    assert.deepEqual(rows, migrationNames().map((name) => ({ name, n: 1 })));
    assert.equal(await createStorage(deployment.config.storage).bucketExists(), true);
    assert.deepEqual((await registeredAttributes()).sort(), ALL_SEARCH_ATTRIBUTES.map((k) => k.name).sort());
    assert.deepEqual(await listedSchedules(), scheduleIds(), 'exactly the schedules of the config, once each');
    const snapshot = await client.schedule.getHandle('seed-snapshot-weekly').describe();
    assert.equal(snapshot.action.type === 'startWorkflow' && snapshot.action.taskQueue, deployment.config.temporal.task_queue);
  });

  test('again: only a retired file-backup schedule is not in place; --check names it, setup deletes it and creates nothing', async () => {
    const retiredConfig = structuredClone(deployment.config);
    retiredConfig.file_backups.types = { retired_type: { ...deployment.config.file_backups.types.config!, enabled: true } };
    await client.schedule.create(fileBackupSchedules(retiredConfig)[0]!);

    const check = await cli(['setup', '--check']);
    assert.equal(check.code, 4);
    assert.match(check.stdout, /^migrations in place: 001_critical_tables, /m);
    assert.match(check.stdout, new RegExp(`^bucket in place: s3://${deployment.bucket}$`, 'm'));
    assert.match(check.stdout, /^schedules in place: seed-snapshot-weekly, /m);
    assert.match(check.stdout, /^schedules to delete \(turned off in the config\): file-backup-retired-type$/m);
    assert.equal(check.stderr, 'seedvault: not set up: schedule file-backup-retired-type; run: seedvault setup\n');

    const again = await cli(['setup']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^search attributes in place: SnapshotVersion, /m);
    assert.match(again.stdout, /^schedules in place: seed-snapshot-weekly, /m);
    assert.doesNotMatch(again.stdout, /updated/, 'nothing in the config changed');
    assert.match(again.stdout, /^schedules deleted \(turned off in the config\): file-backup-retired-type$/m);
    assert.match(again.stdout, /^setup done: 0 created, 1 deleted, 0 schedule\(s\) set to the config; /m);
    assert.equal(again.stderr, '', 'a command a person runs prints no log lines');
    await assert.rejects(client.schedule.getHandle('file-backup-retired-type').describe(), ScheduleNotFoundError);
  });

  test('a config change updates exactly the schedule it touches, and says so; a paused schedule stays paused and in place', async () => {
    const analytics = client.schedule.getHandle('analytics-refresh');
    const snapshot = client.schedule.getHandle('seed-snapshot-weekly');
    await snapshot.pause('paused by an operator');
    const every = async () => (await analytics.describe()).spec.intervals?.[0]?.every;
    assert.equal(await every(), 60 * 60_000);

    const changed = await cli(['setup'], { SEEDVAULT_ANALYTICS_REFRESH_MINUTES: '30' });
    assert.equal(changed.code, 0, changed.stderr);
    assert.match(changed.stdout, /^schedules updated to the config: analytics-refresh$/m);
    assert.match(changed.stdout, /^schedules in place: seed-snapshot-weekly, /m);
    assert.match(changed.stdout, /^setup done: 0 created, 0 deleted, 1 schedule\(s\) set to the config; /m);
    assert.equal(await every(), 30 * 60_000);
    const paused = await snapshot.describe();
    assert.equal(paused.state.paused, true, 'setup does not unpause what an operator paused');
    assert.equal(paused.state.note, 'paused by an operator');

    // --check looks for what is missing: a schedule that differs from the config exists.
    const check = await cli(['setup', '--check'], { SEEDVAULT_ANALYTICS_REFRESH_MINUTES: '45' });
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /^setup check: everything is in place$/m);
    assert.equal(await every(), 30 * 60_000, '--check changed nothing');

    const same = await cli(['setup', '--json'], { SEEDVAULT_ANALYTICS_REFRESH_MINUTES: '30' });
    assert.equal(same.code, 0, same.stderr);
    const states = (JSON.parse(same.stdout) as SetupOutput).items.filter((i) => i.kind === 'schedule').map((i) => i.state);
    assert.deepEqual(new Set(states), new Set(['ok']), 'run again with the same config: nothing updated');

    const back = await cli(['schedule', 'apply']);
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stdout, /^updated analytics-refresh$/m);
    assert.match(back.stdout, /^unchanged seed-snapshot-weekly$/m);
    assert.equal(await every(), 60 * 60_000);
    await snapshot.unpause();
  });

  test('--wait retries while a service is unreachable, then exits 3 with one line; so does a missing namespace; a bad --wait exits 2', async () => {
    const started = Date.now();
    const down = await cli(['setup', '--wait', '3s'], { DATABASE_URL: 'postgres://seedvault@127.0.0.1:1/none' });
    assert.equal(down.code, 3, down.stderr);
    assert.ok(Date.now() - started >= 3000, 'it kept trying for the whole --wait');
    assert.match(down.stderr, /^waiting: cannot reach PostgreSQL at 127\.0\.0\.1:1: .*\nseedvault: cannot reach PostgreSQL at 127\.0\.0\.1:1: [^\n]*\n$/);
    const noNamespace = await cli(['setup', '--check'], { TEMPORAL_NAMESPACE: 'no-such-namespace' });
    assert.equal(noNamespace.code, 3);
    assert.match(noNamespace.stderr, /^seedvault: Temporal has no namespace "no-such-namespace"; create it: temporal operator namespace create -n no-such-namespace\n$/);
    const bad = await cli(['setup', '--wait', 'soon']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^seedvault: --wait: expected a duration such as 30s, 5m or 2h, got "soon"\n$/);
  });
});
