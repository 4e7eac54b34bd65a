import { ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { ScheduleNotFoundError } from '@temporalio/client';
import type { SeedvaultConfig } from '../config/schema.js';
import { backfillSchedule } from './backfill-schedule.js';
import { fileBackupSchedules } from './file-backup-schedules.js';
import { qualitySchedules } from './quality-schedules.js';
import type { SeedSnapshotInput } from '../workflows/snapshot.js';

export const SNAPSHOT_SCHEDULE_ID = 'seed-snapshot-weekly';

/** Every schedule seedvault owns, as the config describes them (all times UTC). */
export function desiredSchedules(config: SeedvaultConfig): ScheduleOptions[] {
  const snapshotInput: SeedSnapshotInput = { trigger: 'schedule' };
  return [
    {
      scheduleId: SNAPSHOT_SCHEDULE_ID,
      spec: { cronExpressions: [config.backup.schedule], timezone: 'UTC' },
      action: {
        type: 'startWorkflow',
        workflowType: 'seedSnapshot',
        workflowId: 'seed-snapshot-scheduled',
        taskQueue: config.temporal.task_queue,
        args: [snapshotInput],
        staticSummary: `weekly seed snapshot of ${Object.keys(config.sources).length} tables`,
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
      memo: { managedBy: 'seedvault', cron: config.backup.schedule },
    },
    backfillSchedule(config),
    ...fileBackupSchedules(config),
    ...qualitySchedules(config),
  ];
}

/** Creates missing schedules and updates existing ones to match the config; returns what it did per id. */
export async function applySchedules(client: Client, config: SeedvaultConfig): Promise<{ scheduleId: string; action: 'created' | 'updated' }[]> {
  const results: { scheduleId: string; action: 'created' | 'updated' }[] = [];
  for (const options of desiredSchedules(config)) {
    const handle = client.schedule.getHandle(options.scheduleId);
    try {
      await handle.update((previous) => ({
        ...previous,
        spec: options.spec,
        action: options.action,
        policies: { ...previous.policies, ...options.policies },
      }));
      results.push({ scheduleId: options.scheduleId, action: 'updated' });
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
      await client.schedule.create(options);
      results.push({ scheduleId: options.scheduleId, action: 'created' });
    }
  }
  return results;
}
