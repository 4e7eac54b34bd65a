import { calendarFor } from '../../config/calendars.js';
import { batchRanges, DEFAULT_TOLERANCE_MS, detectGaps, requestRanges, type RequestRange } from '../../domain/gaps.js';
import type { ActivityDeps } from '../deps.js';
import { barTimes, lastBarTime } from '../../db/ohlcv-bars.js';

const DAY_MS = 86_400_000;

export interface SymbolTarget {
  executionId: string;
  symbol: string;
  timeframe: string;
  /** Epoch ms; default: just after the symbol's last bar (or `default_lookback_days` before `to`). */
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
      const { rows } = await pool.query<{ id: string; range_from: Date | null; range_to: Date | null }>(
        `insert into backfill_state_persistent (execution_id, symbol, timeframe, status, started_at)
         values ($1, $2, $3, 'in_progress', now())
         on conflict (execution_id, symbol, timeframe) do update
           set status = 'in_progress', started_at = coalesce(backfill_state_persistent.started_at, now()), error_message = null
           where backfill_state_persistent.status <> 'completed'
         returning id, range_from, range_to`,
        [target.executionId, target.symbol, target.timeframe],
      );
      const row = rows[0];
      if (!row) return { alreadyCompleted: true, from: target.from ?? target.to, to: target.to, gaps: 0, missingBars: 0, batches: [] };

      let from: number;
      let to: number;
      if (row.range_from && row.range_to) {
        [from, to] = [row.range_from.getTime(), row.range_to.getTime()];
      } else {
        to = target.to;
        const last = target.from === undefined ? await lastBarTime(pool, target.symbol) : null;
        from = target.from ?? (last !== null ? last + 1 : to - config.backfill.default_lookback_days * DAY_MS);
        // A symbol already up to date gets an empty range rather than a reversed one.
        from = Math.min(from, to - 1);
        await pool.query(`update backfill_state_persistent set range_from = $2, range_to = $3 where id = $1`, [row.id, new Date(from), new Date(to)]);
      }
      const calendar = calendarFor(config, target.symbol);
      const present = await barTimes(pool, target.symbol, from - DEFAULT_TOLERANCE_MS, to + DEFAULT_TOLERANCE_MS);
      const report = detectGaps(calendar, present, from, to);
      for (const gap of report.gaps) {
        await pool.query(
          `insert into data_gaps (symbol, gap_start, gap_end, missing_points, detected_by, severity, fill_status, fill_method,
                                  fill_attempts, last_attempt_at, metadata)
           values ($1, $2, $3, $4, 'seedvault backfill', $5, 'filling', 'provider:twelvedata', 1, now(), $6)
           on conflict (symbol, gap_start, gap_end) do update
             set fill_status = 'filling', fill_attempts = data_gaps.fill_attempts + 1, last_attempt_at = now(), last_error = null`,
          [target.symbol, new Date(gap.start), new Date(gap.end), gap.missingBars, gap.severity,
           JSON.stringify({ execution_id: target.executionId, business_minutes: gap.minutes, calendar: calendar.name })],
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
