import { ScheduleOverlapPolicy, type ScheduleOptions } from '@temporalio/client';
import type { SeedvaultConfig } from '../config/schema.js';
import type { AnalyticsRefreshInput } from '../workflows/analytics-refresh.js';

export const ANALYTICS_REFRESH_SCHEDULE_ID = 'analytics-refresh';

/**
 * The refresh of the analytics views every `analytics.refresh_interval_minutes` (counted from
 * the Unix epoch, so 60 fires on the hour); none when `analytics.refresh_enabled` is off.
 */
export function analyticsSchedules(config: SeedvaultConfig): ScheduleOptions[] {
  if (!config.analytics.refresh_enabled) return [];
  const every = `${config.analytics.refresh_interval_minutes}m`;
  const input: AnalyticsRefreshInput = { trigger: 'schedule' };
  return [
    {
      scheduleId: ANALYTICS_REFRESH_SCHEDULE_ID,
      spec: { intervals: [{ every }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'analyticsRefresh',
        workflowId: `${ANALYTICS_REFRESH_SCHEDULE_ID}-scheduled`,
        taskQueue: config.temporal.task_queue,
        args: [input],
        staticSummary: `refresh of the analytics views every ${config.analytics.refresh_interval_minutes} min`,
      },
      // A refresh still running is not started twice; a missed one is made up by the next.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' },
      memo: { managedBy: 'seedvault', every, taskQueue: config.temporal.task_queue },
    },
  ];
}
