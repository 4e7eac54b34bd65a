import { calendarFor } from '../../config/calendars.js';
import type { MarketCalendar } from '../../domain/calendar.js';
import { DEFAULT_TOLERANCE_MS, detectGaps } from '../../domain/gaps.js';
import { FAILURE_ALERT_STREAK } from '../../domain/health.js';
import type { ActivityDeps } from '../deps.js';
import { barTimes } from '../../db/ohlcv-bars.js';
import { inTransaction } from '../../db/pool.js';


export interface FinishSymbolInput {
  executionId: string;
  symbol: string;
  timeframe: string;
  from: number;
  to: number;
  barsInserted: number;
  failure?: { failureClass: string; message: string };
}

export interface FinishSymbolResult {
  completenessPct: number;
  gapsFilled: number;
  gapsOpen: number;
  consecutiveFailures: number;
  /** The streak has reached the alert threshold (seed 004: 3 failed runs in a row). */
  shouldAlert: boolean;
  /** When the current (or, on `recovered`, the just ended) run of failures began. */
  streakStartedAt: string | null;
  /** This success ended a streak that had reached the alert threshold. */
  recovered: boolean;
}

/**
 * Last step of a symbol's backfill: re-checks completeness, marks its gaps filled (or
 * failed), records the outcome in `backfill_state_persistent` and the symbol's streak in
 * `symbol_failure_tracking` — all in one transaction, so a retry cannot count twice.
 */
export function finishActivities({ config, pool }: ActivityDeps) {
  return {
    async finishSymbolBackfill(input: FinishSymbolInput): Promise<FinishSymbolResult> {
      const present = await barTimes(pool, input.symbol, input.from - DEFAULT_TOLERANCE_MS, input.to + DEFAULT_TOLERANCE_MS);
      const calendar = calendarFor(config, input.symbol);
      const report = detectGaps(calendar, present, input.from, input.to);
      const stillMissing = (start: number, end: number) =>
        report.gaps.reduce((sum, g) => sum + (g.end < start || g.start > end ? 0 : countBars(calendar, g, start, end)), 0);
      const failed = input.failure !== undefined;
      const error = input.failure ? `${input.failure.failureClass}: ${input.failure.message}`.slice(0, 1000) : null;

      return inTransaction(pool, async (client) => {
        const state = await client.query(
          `update backfill_state_persistent
           set status = $4, records_inserted = $5, error_message = $6, completed_at = now()
           where execution_id = $1 and symbol = $2 and timeframe = $3 and status = 'in_progress'
           returning id`,
          [input.executionId, input.symbol, input.timeframe, failed ? 'failed' : 'completed', input.barsInserted, error],
        );
        // Already finished by an earlier attempt of this activity: report, change nothing.
        const firstFinish = state.rowCount === 1;
        const { rows: gaps } = await client.query<{ gap_id: string; gap_start: Date; gap_end: Date; missing_points: number }>(
          `select gap_id, gap_start, gap_end, missing_points from data_gaps
           where symbol = $1 and fill_status = 'filling' and gap_start < $3 and gap_end >= $2`,
          [input.symbol, new Date(input.from), new Date(input.to)],
        );
        let gapsFilled = 0;
        for (const gap of gaps) {
          const missing = stillMissing(gap.gap_start.getTime(), gap.gap_end.getTime());
          if (missing === 0) gapsFilled += 1;
          await client.query(
            `update data_gaps set fill_status = $2, filled_points = $3, last_error = $4,
               resolved_at = case when $2 = 'filled' then now() end,
               fill_quality = case when $2 = 'filled' then 'complete' end
             where gap_id = $1`,
            [gap.gap_id, missing === 0 ? 'filled' : 'failed', Math.max(0, gap.missing_points - missing),
             missing === 0 ? null : (error ?? `${missing} bars still missing after the fetch`)],
          );
        }
        const { rows } = await client.query<{ consecutive_failures: number; should_alert: boolean; streak_started_at: Date | null; recovered: boolean }>(
          firstFinish ? (failed ? RECORD_FAILURE : RECORD_SUCCESS) : READ_STREAK,
          firstFinish && failed ? [input.symbol, error, FAILURE_ALERT_STREAK] : [input.symbol],
        );
        return {
          completenessPct: report.completenessPct,
          gapsFilled,
          gapsOpen: gaps.length - gapsFilled,
          consecutiveFailures: rows[0]?.consecutive_failures ?? 0,
          shouldAlert: rows[0]?.should_alert ?? false,
          streakStartedAt: rows[0]?.streak_started_at?.toISOString() ?? null,
          recovered: rows[0]?.recovered ?? false,
        };
      });
    },
    /**
     * For a child workflow that ended without finishing its symbol (terminated, timed out,
     * a bug): the symbol is marked failed, its open gaps too, and its streak counts it, so
     * `backfill retry-failed` picks it up. A symbol already finished is left as it is.
     */
    async failSymbolBackfill(input: { executionId: string; symbol: string; timeframe: string; message: string }): Promise<void> {
      const error = `internal: ${input.message}`.slice(0, 1000);
      await inTransaction(pool, async (client) => {
        const state = await client.query(
          `update backfill_state_persistent set status = 'failed', error_message = $4, completed_at = now()
           where execution_id = $1 and symbol = $2 and timeframe = $3 and status in ('pending', 'in_progress')`,
          [input.executionId, input.symbol, input.timeframe, error],
        );
        if (state.rowCount !== 1) return;
        await client.query(`update data_gaps set fill_status = 'failed', last_error = $2 where symbol = $1 and fill_status = 'filling'`, [input.symbol, error]);
        await client.query(RECORD_FAILURE, [input.symbol, error, FAILURE_ALERT_STREAK]);
      });
    },
  };
}

function countBars(calendar: MarketCalendar, gap: { start: number; end: number }, start: number, end: number): number {
  let n = 0;
  for (const _bar of calendar.expectedBars(Math.max(gap.start, start), Math.min(gap.end, end) + 1)) n += 1;
  return n;
}

/** A failure: the streak grows (a new streak starts now); from the threshold on it alerts. */
const RECORD_FAILURE = `
  insert into symbol_failure_tracking (symbol, consecutive_failures, total_failures, last_failure_at, last_error, should_alert, streak_started_at)
  values ($1, 1, 1, now(), $2, 1 >= $3, now())
  on conflict (symbol) do update set
    consecutive_failures = symbol_failure_tracking.consecutive_failures + 1,
    total_failures = symbol_failure_tracking.total_failures + 1,
    last_failure_at = now(), last_error = $2,
    should_alert = symbol_failure_tracking.consecutive_failures + 1 >= $3,
    streak_started_at = case when symbol_failure_tracking.consecutive_failures = 0 or symbol_failure_tracking.streak_started_at is null
                             then now() else symbol_failure_tracking.streak_started_at end
  returning consecutive_failures, should_alert, streak_started_at, false as recovered`;

/** A success resets the streak; `recovered` when the streak it ends had reached the alert threshold. */
const RECORD_SUCCESS = `
  with before as (select should_alert, streak_started_at from symbol_failure_tracking where symbol = $1)
  insert into symbol_failure_tracking (symbol, last_success_at) values ($1, now())
  on conflict (symbol) do update set consecutive_failures = 0, should_alert = false, last_success_at = now()
  returning consecutive_failures, should_alert,
            (select streak_started_at from before) as streak_started_at,
            coalesce((select should_alert from before), false) as recovered`;

const READ_STREAK = `select consecutive_failures, should_alert, streak_started_at, false as recovered from symbol_failure_tracking where symbol = $1`;
