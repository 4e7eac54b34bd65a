import { ScheduleOverlapPolicy, type ScheduleOptions } from '@temporalio/client';
import type { VerifyInput } from '../activities/restore/verify.js';
import type { SeedvaultConfig } from '../config/schema.js';

export const DEEP_VERIFY_SCHEDULE_ID = 'snapshot-deep-verify';

/**
 * Interval schedules count from the Unix epoch, a Thursday 00:00 UTC; this offset puts runs
 * at 04:00 UTC, and the weekly one on Sundays, two hours after the weekly snapshot.
 */
const SUNDAY_0400_HOURS = 3 * 24 + 4;

/** The deep verify every `backup.deep_verify.interval_days`, or nothing when it is disabled. */
export function deepVerifySchedules(config: SeedvaultConfig): ScheduleOptions[] {
  const { enabled, interval_days, versions } = config.backup.deep_verify;
  if (!enabled) return [];
  const input: VerifyInput = { version: versions };
  const every = `${interval_days}d`;
  return [
    {
      scheduleId: DEEP_VERIFY_SCHEDULE_ID,
      spec: { intervals: [{ every, offset: `${SUNDAY_0400_HOURS % (interval_days * 24)}h` }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'verifySnapshot',
        workflowId: `${DEEP_VERIFY_SCHEDULE_ID}-scheduled`,
        taskQueue: config.temporal.task_queue,
        args: [input],
        staticSummary: `deep verify of the ${versions === 'all' ? 'kept snapshots' : 'latest snapshot'} every ${interval_days} days`,
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
      memo: { managedBy: 'seedvault', every, taskQueue: config.temporal.task_queue },
    },
  ];
}
