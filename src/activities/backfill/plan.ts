import { calendarFor } from '../../config/calendars.js';
import { batchRanges, classifyGap, DEFAULT_TOLERANCE_MS, detectGaps, impactScore, requestRanges, type RequestRange } from '../../domain/gaps.js';
import type { ActivityDeps } from '../deps.js';
import { barTimes } from '../../db/ohlcv-bars.js';
import { rangeBound, rangeFromSql } from './execution.js';

export interface SymbolTarget {
  executionId: string;
  symbol: string;
  timeframe: string;
  /** Epoch ms, for a row registered without a range; default as in `rangeFromSql`. */
  from?: number;
  to: number;
}

export interface SymbolPlan {
  /** The symbol already completed in this execution (a resumed or repeated run). */
  alreadyCompleted: boolean;
  from: number;
  to: number;
  gaps: number;
  missingBars: number;
  /** Provider requests, grouped into one activity per batch. */
  batches: RequestRange[][];
}

/**
 * First step of a symbol's backfill: marks it in progress, finds its gaps by the market
 * calendar, records them in `data_gaps` (fill_status 'filling') and plans the requests.
 */
export function planActivities({ config, pool }: ActivityDeps) {
  return {
    async planSymbolBackfill(target: SymbolTarget): Promise<SymbolPlan> {
      // The range registered with the row wins; a row without one (or no row) gets it here, in the same statement.
      const { rows } = await pool.query<{ range_from: Date; range_to: Date }>(
        `insert into backfill_state_persistent (execution_id, symbol, timeframe, status, started_at, range_from, range_to)
         values ($1, $2, $3, 'in_progress', now(), ${rangeFromSql('$2', '$4', '$5', '$6')}, $5)
         on conflict (execution_id, symbol, timeframe) do update
           set status = 'in_progress', started_at = coalesce(backfill_state_persistent.started_at, now()), error_message = null,
               range_from = coalesce(backfill_state_persistent.range_from, excluded.range_from),
               range_to = coalesce(backfill_state_persistent.range_to, excluded.range_to)
           where backfill_state_persistent.status <> 'completed'
         returning range_from, range_to`,
        [target.executionId, target.symbol, target.timeframe, rangeBound(target.from), new Date(target.to), config.backfill.default_lookback_days],
      );
      const row = rows[0];
      if (!row) return { alreadyCompleted: true, from: target.from ?? target.to, to: target.to, gaps: 0, missingBars: 0, batches: [] };
      const [from, to] = [row.range_from.getTime(), row.range_to.getTime()];
      const calendar = calendarFor(config, target.symbol);
      const present = await barTimes(pool, target.symbol, from - DEFAULT_TOLERANCE_MS, to + DEFAULT_TOLERANCE_MS);
      const report = detectGaps(calendar, present, from, to);
      for (const gap of report.gaps) {
        await pool.query(
          `insert into data_gaps (symbol, gap_start, gap_end, missing_points, detected_by, severity, fill_status, fill_method,
                                  fill_attempts, last_attempt_at, metadata, gap_type, impact_score)
           values ($1, $2, $3, $4, 'seedvault backfill', $5, 'filling', 'provider:twelvedata', 1, now(), $6, $7, $8)
           on conflict (symbol, gap_start, gap_end) do update
             set fill_status = 'filling', fill_attempts = data_gaps.fill_attempts + 1, last_attempt_at = now(), last_error = null,
                 gap_type = excluded.gap_type, impact_score = excluded.impact_score`,
          [target.symbol, new Date(gap.start), new Date(gap.end), gap.missingBars, gap.severity,
           JSON.stringify({ execution_id: target.executionId, business_minutes: gap.minutes, calendar: calendar.name }),
           classifyGap(calendar, gap), impactScore(gap, to)],
        );
      }
      const { max_points_per_call, max_api_calls_per_batch } = config.backfill.provider;
      const ranges = requestRanges(calendar, report.gaps, max_points_per_call);
      return {
        alreadyCompleted: false,
        from,
        to,
        gaps: report.gaps.length,
        missingBars: report.expectedBars - report.presentBars,
        batches: batchRanges(ranges, max_api_calls_per_batch),
      };
    },
  };
}
