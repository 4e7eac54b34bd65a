import { ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { ScheduleNotFoundError } from '@temporalio/client';
import type { SeedvaultConfig } from '../config/schema.js';
import { backfillSchedule } from './backfill-schedule.js';
import { FILE_BACKUP_SCHEDULE_PREFIX, fileBackupSchedules } from './file-backup-schedules.js';
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

/**
 * Creates missing schedules, updates existing ones to match the config, and deletes the
 * file-backup schedules of this task queue whose type is no longer enabled (the other ids
 * are fixed); returns what it did per id.
 */
export async function applySchedules(client: Client, config: SeedvaultConfig): Promise<{ scheduleId: string; action: 'created' | 'updated' | 'deleted' }[]> {
  const results: { scheduleId: string; action: 'created' | 'updated' | 'deleted' }[] = [];
  const desired = desiredSchedules(config);
  for (const options of desired) {
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
  const wanted = new Set(desired.map((s) => s.scheduleId));
  for await (const s of client.schedule.list()) {
    const ours = s.memo?.managedBy === 'seedvault' && s.memo?.taskQueue === config.temporal.task_queue;
    if (ours && s.scheduleId.startsWith(FILE_BACKUP_SCHEDULE_PREFIX) && !wanted.has(s.scheduleId)) {
      await client.schedule.getHandle(s.scheduleId).delete();
      results.push({ scheduleId: s.scheduleId, action: 'deleted' });
    }
  }
  return results;
}
