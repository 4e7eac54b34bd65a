import { ScheduleOverlapPolicy, type ScheduleOptions } from '@temporalio/client';
import type { SeedvaultConfig } from '../config/schema.js';
import type { HealthCheckInput } from '../workflows/health-check.js';
import type { MaintenanceInput } from '../workflows/maintenance.js';
import type { SignalExpiryInput } from '../workflows/signal-expiry.js';

export const HEALTH_SCHEDULE_ID = 'health-check-6h';
export const MAINTENANCE_SCHEDULE_ID = 'maintenance-daily';
export const SIGNAL_EXPIRY_SCHEDULE_ID = 'signal-expiry';

/** One scheduled workflow: skipped while the previous run still runs. */
function scheduled(config: SeedvaultConfig, id: string, cron: string, workflowType: string, args: unknown[], summary: string, catchupWindow: string): ScheduleOptions {
  return {
    scheduleId: id,
    spec: { cronExpressions: [cron], timezone: 'UTC' },
    action: { type: 'startWorkflow', workflowType, workflowId: `${id}-scheduled`, taskQueue: config.temporal.task_queue, args, staticSummary: summary },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow },
    memo: { managedBy: 'seedvault', cron },
  };
}

/** The health check, the daily retention maintenance (issue 7) and the signal expiry with its alerts. */
export function qualitySchedules(config: SeedvaultConfig): ScheduleOptions[] {
  const health: HealthCheckInput = { trigger: 'schedule' };
  const maintenance: MaintenanceInput = { trigger: 'schedule' };
  const expiry: SignalExpiryInput = { trigger: 'schedule' };
  return [
    scheduled(config, HEALTH_SCHEDULE_ID, config.quality.health_cron, 'healthCheck', [health], 'health check: symbols, snapshots, file backups -> pipeline_health', '1 hour'),
    scheduled(config, MAINTENANCE_SCHEDULE_ID, config.quality.maintenance_cron, 'maintenance', [maintenance], 'retention of the operational tables, expiry of ready signals', '1 day'),
    scheduled(config, SIGNAL_EXPIRY_SCHEDULE_ID, config.quality.signal_expiry_cron, 'signalExpiry', [expiry], 'expire overdue ready signals and alert on each', '10 minutes'),
  ];
}
