import { Context } from '@temporalio/activity';
import type { HealthLevel } from '../../domain/health.js';
import { healthReport, previousHealthStatus, recordHealth, type HealthReport } from '../../quality/health.js';
import type { ActivityDeps } from '../deps.js';

/**
 * Health check (issue 7): compute the report and write one pipeline_health row per component;
 * `previousStatus` is the level of the report recorded before this run's (null: none).
 */
export function healthActivities({ config, pool, storage, metrics }: ActivityDeps) {
  return {
    async checkPipelineHealth(input: { verifySnapshot?: boolean } = {}): Promise<HealthReport & { recorded: number; previousStatus: HealthLevel | null }> {
      const runId = Context.current().info.workflowExecution?.runId ?? '';
      const report = await healthReport({ config, pool, storage, verifySnapshot: input.verifySnapshot });
      const previousStatus = await previousHealthStatus(pool, runId);
      const recorded = await recordHealth(pool, report, runId);
      metrics.healthChecked(report.components);
      return { ...report, recorded, previousStatus };
    },
  };
}
