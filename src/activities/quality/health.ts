import { Context } from '@temporalio/activity';
import type { HealthLevel } from '../../domain/health.js';
import { firstBarTime } from '../../db/ohlcv-bars.js';
import { recordGaps, symbolGapReport } from '../../quality/gaps.js';
import { healthReport, previousHealthStatus, recordHealth, symbolsToCheck, type HealthReport } from '../../quality/health.js';
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

    /**
     * Records in data_gaps (as 'detected') the closed gaps of every symbol over the last
     * backfill.default_lookback_days, so the report counts them and `gaps --patterns` sees them.
     */
    async recordDataGaps(): Promise<{ symbols: number; gaps: number; inserted: number }> {
      const to = Date.now();
      const lookbackDays = config.backfill.default_lookback_days;
      const totals = { symbols: 0, gaps: 0, inserted: 0 };
      for (const symbol of await symbolsToCheck(pool, config)) {
        const first = await firstBarTime(pool, symbol);
        if (first === null) continue;
        const report = await symbolGapReport(pool, config, symbol, { from: Math.max(first, to - lookbackDays * 86_400_000), to, lookbackDays });
        const { inserted, updated } = await recordGaps(pool, report, 'seedvault health');
        totals.symbols += 1;
        totals.gaps += inserted + updated;
        totals.inserted += inserted;
        Context.current().heartbeat(symbol);
      }
      return totals;
    },
  };
}
