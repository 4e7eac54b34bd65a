import { ScheduleOverlapPolicy, type ScheduleOptions } from '@temporalio/client';
import type { SeedvaultConfig } from '../config/schema.js';
import type { BackfillInput } from '../workflows/backfill.js';

export const BACKFILL_SCHEDULE_ID = 'backfill-daily';

/** The daily backfill (seed 004: 02:00 UTC) of the configured symbols, each from its last bar to now. */
export function backfillSchedule(config: SeedvaultConfig): ScheduleOptions {
  const input: BackfillInput = { trigger: 'schedule' };
  return {
    scheduleId: BACKFILL_SCHEDULE_ID,
    spec: { cronExpressions: [config.backfill.schedule], timezone: 'UTC' },
    action: {
      type: 'startWorkflow',
      workflowType: 'backfill',
      workflowId: 'backfill-scheduled',
      taskQueue: config.temporal.task_queue,
      args: [input],
      staticSummary: `daily backfill of ${config.backfill.symbols.length} symbol(s)`,
    },
    // A backfill still running (a spent daily quota) is not started twice.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    memo: { managedBy: 'seedvault', cron: config.backfill.schedule },
  };
}
