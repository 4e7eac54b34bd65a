import { ScheduleOverlapPolicy, type ScheduleOptions } from '@temporalio/client';
import type { SeedvaultConfig } from '../config/schema.js';
import type { FileBackupInput } from '../workflows/file-backup.js';

export const FILE_BACKUP_SCHEDULE_PREFIX = 'file-backup-';

/** Schedule id of a file backup type: `file-backup-trading-history`. */
export function fileBackupScheduleId(type: string): string {
  return `${FILE_BACKUP_SCHEDULE_PREFIX}${type.replaceAll('_', '-')}`;
}

/**
 * One schedule per enabled file backup type, every `interval_hours` (counted from the Unix
 * epoch, so 24 h fires at 00:00 UTC); each run applies retention afterwards.
 */
export function fileBackupSchedules(config: SeedvaultConfig): ScheduleOptions[] {
  return Object.entries(config.file_backups.types)
    .filter(([, t]) => t.enabled)
    .map(([type, t]) => {
      const input: FileBackupInput = { types: [type], trigger: 'schedule', cleanup: true };
      return {
        scheduleId: fileBackupScheduleId(type),
        spec: { intervals: [{ every: `${t.interval_hours}h` }] },
        action: {
          type: 'startWorkflow',
          workflowType: 'fileBackup',
          workflowId: `${fileBackupScheduleId(type)}-scheduled`,
          taskQueue: config.temporal.task_queue,
          args: [input],
          staticSummary: `file backup of ${type} every ${t.interval_hours} h`,
        },
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
        memo: { managedBy: 'seedvault', every: `${t.interval_hours}h`, taskQueue: config.temporal.task_queue },
      } satisfies ScheduleOptions;
    });
}
