import { calendarFor } from '../../config/calendars.js';
import { batchRanges, classifyGap, DEFAULT_TOLERANCE_MS, detectGaps, impactScore, requestRanges, type RequestRange } from '../../domain/gaps.js';
import type { ActivityDeps } from '../deps.js';
import { barTimes } from '../../db/ohlcv-bars.js';
import { inTransaction } from '../../db/pool.js';
import { isWorkflowRunning } from '../../temporal/connection.js';
import { rangeBound, rangeFromSql } from './execution.js';

/** The unique index that lets one execution at a time hold a symbol in progress (migration 008). */
const CLAIM_KEY = 'backfill_state_persistent_claim_key';

export interface SymbolTarget {
  executionId: string;
  symbol: string;
  timeframe: string;
  /** Epoch ms, for a row registered without a range; default as in `rangeFromSql`. */
  from?: number;
  to: number;
}

export interface PlanInput extends SymbolTarget {
  /** The backfillSymbol workflow planning it: the holder of the symbol's claim. */
  workflowId?: string;
}

export interface SymbolPlan {
  /** The symbol already completed in this execution (a resumed or repeated run). */
  alreadyCompleted: boolean;
  /** Why the symbol is skipped: another execution is filling it. */
  skipped?: string;
  from: number;
  to: number;
  gaps: number;
  missingBars: number;
  /** Provider requests, grouped into one activity per batch. */
  batches: RequestRange[][];
}

/** How often a claim is retried after releasing an abandoned one (another execution may win it meanwhile). */
const CLAIM_ATTEMPTS = 3;

/**
 * First step of a symbol's backfill: claims it (marks it in progress), finds its gaps by
 * the market calendar, records them in `data_gaps` (fill_status 'filling') and plans the
 * requests.
 *
 * One execution at a time fills a symbol: its in_progress row is the claim, and a unique
 * index over (symbol, timeframe) of in_progress rows makes taking it atomic. Another
 * execution reaching the symbol then marks its own row 'skipped' with the reason. A claim
 * is only as good as the workflow holding it: when that workflow is no longer running
 * (terminated, timed out, its execution gone), the claim is released as failed and taken.
 * A claim never expires by age, since a live backfill may wait hours for provider credits.
 */
export function planActivities({ config, pool, temporal }: ActivityDeps) {
  async function claim(target: PlanInput): Promise<{ range_from: Date; range_to: Date } | 'completed' | { skipped: string }> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        // The range registered with the row wins; a row without one (or no row) gets it here, in the same statement.
        const { rows } = await pool.query<{ range_from: Date; range_to: Date }>(
          `insert into backfill_state_persistent (execution_id, symbol, timeframe, status, started_at, range_from, range_to, workflow_id)
           values ($1, $2, $3, 'in_progress', now(), ${rangeFromSql('$2', '$4', '$5', '$6')}, $5, $7)
           on conflict (execution_id, symbol, timeframe) do update
             set status = 'in_progress', started_at = coalesce(backfill_state_persistent.started_at, now()), error_message = null,
                 range_from = coalesce(backfill_state_persistent.range_from, excluded.range_from),
                 range_to = coalesce(backfill_state_persistent.range_to, excluded.range_to),
                 workflow_id = excluded.workflow_id
             where backfill_state_persistent.status <> 'completed'
           returning range_from, range_to`,
          [target.executionId, target.symbol, target.timeframe, rangeBound(target.from), new Date(target.to), config.backfill.default_lookback_days, target.workflowId ?? null],
        );
        return rows[0] ?? 'completed';
      } catch (err) {
        if ((err as { constraint?: string }).constraint !== CLAIM_KEY || attempt >= CLAIM_ATTEMPTS) throw err;
      }
      const holder = await claimHolder(target);
      if (!holder) continue; // released meanwhile
      if (holder.workflow_id && (await isWorkflowRunning(temporal, holder.workflow_id))) {
        const reason = `being backfilled by execution ${holder.execution_id} (workflow ${holder.workflow_id}) since ${holder.started_at?.toISOString() ?? 'unknown'}`;
        await markSkipped(target, reason);
        return { skipped: reason };
      }
      // The holder ended without finishing: its claim is abandoned, and so is its filling of the gaps.
      await inTransaction(pool, async (client) => {
        const { rows: released } = await client.query<{ error_message: string }>(
          `update backfill_state_persistent set status = 'failed', completed_at = now(),
             error_message = 'internal: abandoned: its workflow ' || coalesce(workflow_id, '(unknown)') || ' is not running'
           where id = $1 and status = 'in_progress' returning error_message`,
          [holder.id],
        );
        if (released[0]) {
          await client.query(`update data_gaps set fill_status = 'failed', last_error = $2 where symbol = $1 and fill_status = 'filling'`, [target.symbol, released[0].error_message]);
        }
      });
    }
  }

  async function claimHolder(target: SymbolTarget) {
    const { rows } = await pool.query<{ id: string; execution_id: string; workflow_id: string | null; started_at: Date | null }>(
      `select id, execution_id, workflow_id, started_at from backfill_state_persistent
       where symbol = $1 and timeframe = $2 and status = 'in_progress' and execution_id <> $3`,
      [target.symbol, target.timeframe, target.executionId],
    );
    return rows[0];
  }

  async function markSkipped(target: SymbolTarget, reason: string): Promise<void> {
    await pool.query(
      `insert into backfill_state_persistent (execution_id, symbol, timeframe, status, error_message, completed_at)
       values ($1, $2, $3, 'skipped', $4, now())
       on conflict (execution_id, symbol, timeframe) do update set status = 'skipped', error_message = $4, completed_at = now()
         where backfill_state_persistent.status <> 'completed'`,
      [target.executionId, target.symbol, target.timeframe, reason],
    );
  }

  return {
    async planSymbolBackfill(target: PlanInput): Promise<SymbolPlan> {
      const claimed = await claim(target);
      const nothingToDo = { alreadyCompleted: false, from: target.from ?? target.to, to: target.to, gaps: 0, missingBars: 0, batches: [] };
      if (claimed === 'completed') return { ...nothingToDo, alreadyCompleted: true };
      if ('skipped' in claimed) return { ...nothingToDo, skipped: claimed.skipped };
      const [from, to] = [claimed.range_from.getTime(), claimed.range_to.getTime()];
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
      const missingBars = report.expectedBars - report.presentBars;
      await pool.query(`update backfill_state_persistent set bars_planned = $4 where execution_id = $1 and symbol = $2 and timeframe = $3`, [
        target.executionId, target.symbol, target.timeframe, missingBars,
      ]);
      const { max_points_per_call, max_api_calls_per_batch } = config.backfill.provider;
      const ranges = requestRanges(calendar, report.gaps, max_points_per_call);
      return {
        alreadyCompleted: false,
        from,
        to,
        gaps: report.gaps.length,
        missingBars,
        batches: batchRanges(ranges, max_api_calls_per_batch),
      };
    },
  };
}
