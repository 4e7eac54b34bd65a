import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { CLI } from '../bench/support.js';
import { applySchedules } from '../src/temporal/schedules.js';
import { fileBackupScheduleId } from '../src/temporal/file-backup-schedules.js';
import { freshDeployment, type FreshDeployment } from './support/deploy.js';
import { runProcess } from './support/process.js';

const HOUR = 3_600_000;

describe('file backup schedules on Temporal', () => {
  let deployment: FreshDeployment;
  let client: Client;
  const setup = (env: Record<string, string> = {}) => runProcess([process.execPath, CLI, 'setup'], { env: { ...process.env, ...deployment.env, ...env } });
  const fileSchedules = async () => {
    const ids: string[] = [];
    for await (const s of client.schedule.list()) if (s.scheduleId.startsWith('file-backup-')) ids.push(s.scheduleId);
    return ids.sort();
  };
  before(async () => {
    // A namespace of its own: the schedule ids are fixed.
    deployment = await freshDeployment('filesched');
    client = await deployment.client();
  });
  after(() => deployment.drop());

  test('setup creates seed 003\'s types daily at 02:00 UTC', async () => {
    const run = await setup();
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await fileSchedules(), ['config', 'models', 'portfolio', 'trading_history'].map(fileBackupScheduleId));
    const described = await client.schedule.getHandle(fileBackupScheduleId('portfolio')).describe();
    assert.deepEqual(described.spec.intervals, [{ every: 24 * HOUR, offset: 2 * HOUR }]);
    assert.ok(described.info.nextActionTimes.length > 0);
    for (const next of described.info.nextActionTimes) assert.deepEqual([next.getUTCHours(), next.getUTCMinutes()], [2, 0], next.toISOString());
  });

  test('run_at moves them; an interval dividing a day keeps that phase', async () => {
    const { config } = deployment;
    const moved = {
      ...config,
      file_backups: { ...config.file_backups, run_at: '02:30', types: { ...config.file_backups.types, portfolio: { ...config.file_backups.types.portfolio!, interval_hours: 6 } } },
    };
    await applySchedules(client, moved);
    const portfolio = await client.schedule.getHandle(fileBackupScheduleId('portfolio')).describe();
    assert.deepEqual(portfolio.spec.intervals, [{ every: 6 * HOUR, offset: 2.5 * HOUR }]);
    const times = portfolio.info.nextActionTimes.map((t) => `${t.getUTCHours()}:${t.getUTCMinutes()}`);
    assert.ok(times.length >= 2 && times.every((t) => ['2:30', '8:30', '14:30', '20:30'].includes(t)), times.join(', '));
    const next = (await client.schedule.getHandle(fileBackupScheduleId('config')).describe()).info.nextActionTimes[0]!;
    assert.deepEqual([next.getUTCHours(), next.getUTCMinutes()], [2, 30]);
  });

  test('file_backups.enabled: false makes setup delete every file backup schedule and leave the others', async () => {
    const off = await setup({ SEEDVAULT_FILE_BACKUPS: 'false' });
    assert.equal(off.code, 0, off.stderr);
    const deleted = /^schedules deleted \(turned off in the config\): (.*)$/m.exec(off.stdout)?.[1]?.split(', ').sort();
    assert.deepEqual(deleted, ['config', 'models', 'portfolio', 'trading_history'].map(fileBackupScheduleId), off.stdout);
    assert.deepEqual(await fileSchedules(), []);
    await assert.rejects(client.schedule.getHandle(fileBackupScheduleId('config')).describe(), ScheduleNotFoundError);
    await client.schedule.getHandle('seed-snapshot-weekly').describe();
    const check = await runProcess([process.execPath, CLI, 'setup', '--check'], { env: { ...process.env, ...deployment.env, SEEDVAULT_FILE_BACKUPS: 'false' } });
    assert.equal(check.code, 0, `nothing left to do: ${check.stderr}`);
  });
});
