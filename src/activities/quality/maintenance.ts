import { Context } from '@temporalio/activity';
import { calendarFor } from '../../config/calendars.js';
import { detectAnomalies } from '../../quality/anomalies.js';
import { symbolsToCheck } from '../../quality/health.js';
import { notifySignalWaiters } from '../../quality/notify.js';
import { runRetention, type RetentionCount } from '../../quality/retention.js';
import { expireSignals } from '../../quality/signals.js';
import type { ActivityDeps } from '../deps.js';

export interface AnomalyCount {
  symbol: string;
  /** Newly logged. */
  inserted: number;
  /** Found in this pass (logged before or now). */
  anomalies: number;
}

/** Data quality and retention activities (issue 7). */
export function qualityActivities({ config, pool, temporal }: ActivityDeps) {
  return {
    /** Anomalies of the given symbols (default: the configured ones plus every symbol with bars). */
    async detectSymbolAnomalies(input: { symbols?: string[] } = {}): Promise<AnomalyCount[]> {
      const symbols = input.symbols ?? (await symbolsToCheck(pool, config));
      const out: AnomalyCount[] = [];
      for (const symbol of [...symbols].sort()) {
        const r = await detectAnomalies(pool, { symbol, settings: config.quality, calendar: calendarFor(config, symbol) });
        out.push({ symbol, inserted: r.inserted, anomalies: r.found.length });
        Context.current().heartbeat(symbol);
      }
      return out;
    },
    /** Expires overdue signals and wakes the waiters of their types. */
    async expireReadySignals(): Promise<number> {
      const { expired, types } = await expireSignals(pool);
      await notifySignalWaiters(temporal, config.temporal.task_queue, types);
      return expired;
    },
    async applyRetention(input: { dryRun: boolean; now?: string; batchSize?: number }): Promise<RetentionCount[]> {
      return runRetention(pool, {
        dryRun: input.dryRun,
        now: input.now ? new Date(input.now) : undefined,
        batchSize: input.batchSize,
        onBatch: (rule, n) => Context.current().heartbeat({ rule, n }),
      });
    },
  };
}
