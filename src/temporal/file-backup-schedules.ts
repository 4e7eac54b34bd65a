import { ScheduleOverlapPolicy, type ScheduleOptions } from '@temporalio/client';
import type { SeedvaultConfig } from '../config/schema.js';
import type { FileBackupInput } from '../workflows/file-backup.js';

export const FILE_BACKUP_SCHEDULE_PREFIX = 'file-backup-';

/** Schedule id of a file backup type: `file-backup-trading-history`. */
export function fileBackupScheduleId(type: string): string {
  return `${FILE_BACKUP_SCHEDULE_PREFIX}${type.replaceAll('_', '-')}`;
}

/**
 * Interval schedules count from the Unix epoch (00:00 UTC); this offset puts a run at
 * `run_at` ("HH:MM" UTC) on 1970-01-01, so 24 h fires daily at run_at and an interval that
 * divides 24 h fires at run_at too (6 h at 02:00: 02, 08, 14, 20).
 */
export function fileBackupOffsetMinutes(runAt: string, intervalHours: number): number {
  const [hours, minutes] = runAt.split(':').map(Number) as [number, number];
  return (hours * 60 + minutes) % (intervalHours * 60);
}

/**
 * One schedule per enabled file backup type, every `interval_hours` at the phase of
 * `file_backups.run_at`; each run applies retention afterwards. None when file backups are
 * disabled as a whole.
 */
export function fileBackupSchedules(config: SeedvaultConfig): ScheduleOptions[] {
  const { enabled, run_at, types } = config.file_backups;
  if (!enabled) return [];
  return Object.entries(types)
    .filter(([, t]) => t.enabled)
    .map(([type, t]) => {
      const input: FileBackupInput = { types: [type], trigger: 'schedule', cleanup: true };
      const every = `${t.interval_hours}h`;
      return {
        scheduleId: fileBackupScheduleId(type),
        spec: { intervals: [{ every, offset: `${fileBackupOffsetMinutes(run_at, t.interval_hours)}m` }] },
        action: {
          type: 'startWorkflow',
          workflowType: 'fileBackup',
          workflowId: `${fileBackupScheduleId(type)}-scheduled`,
          taskQueue: config.temporal.task_queue,
          args: [input],
          staticSummary: `file backup of ${type} every ${t.interval_hours} h from ${run_at} UTC`,
        },
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
        memo: { managedBy: 'seedvault', every, runAt: run_at, taskQueue: config.temporal.task_queue },
      } satisfies ScheduleOptions;
    });
}
