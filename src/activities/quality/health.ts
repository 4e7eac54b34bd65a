import { Context } from '@temporalio/activity';
import { healthReport, recordHealth, type HealthReport } from '../../quality/health.js';
import type { ActivityDeps } from '../deps.js';

/** Health check (issue 7): compute the report and write one pipeline_health row per component. */
export function healthActivities({ config, pool, storage }: ActivityDeps) {
  return {
    async checkPipelineHealth(input: { verifySnapshot?: boolean } = {}): Promise<HealthReport & { recorded: number }> {
      const report = await healthReport({ config, pool, storage, verifySnapshot: input.verifySnapshot });
      const recorded = await recordHealth(pool, report, Context.current().info.workflowExecution?.runId);
      return { ...report, recorded };
    },
  };
}
