import { ActivityFailure, ApplicationFailure, TimeoutFailure, log, proxyActivities, proxyLocalActivities, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { SymbolTarget } from '../activities/backfill/plan.js';
import { symbolFailingAlert, symbolRecoveredAlert } from '../domain/alerts.js';
import { currentRun, raiseAlert } from './alerting.js';
import { BackfillSymbol, FailureAlert, SeedvaultJob } from './search-attributes.js';

export type SymbolOutcome = 'completed' | 'failed' | 'already_completed' | 'skipped';

export interface BackfillSymbolResult {
  symbol: string;
  outcome: SymbolOutcome;
  /** For failures: rate_limited, bad_symbol, provider_error, timeout or internal. */
  failureClass?: string;
  /** For skips: the execution already filling the symbol. */
  reason?: string;
  barsInserted: number;
  requests: number;
  completenessPct: number | null;
  consecutiveFailures: number;
  alert: boolean;
}

/**
 * Quick database steps run as local activities: no server round trip per step, which is
 * most of the cost of a symbol. They are idempotent, so a replay after a crash may rerun them.
 */
const quick = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

/** The heartbeat timeout is what notices a dead worker mid-batch; budget waits heartbeat too. */
const { fetchBarBatch } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 6, nonRetryableErrorTypes: ['bad_symbol'] },
  summary: 'fetch bars from the provider and insert them',
});

/**
 * One symbol: detect gaps -> fetch the missing ranges -> upsert -> re-check completeness.
 * A provider failure does not fail the run: it is recorded (state, gaps, failure streak)
 * and returned, so the parent can summarise failures by class.
 */
export async function backfillSymbol(target: SymbolTarget): Promise<BackfillSymbolResult> {
  upsertSearchAttributes([
    { key: SeedvaultJob, value: 'backfill-symbol' },
    { key: BackfillSymbol, value: target.symbol },
  ]);
  const plan = await quick.planSymbolBackfill({ ...target, workflowId: workflowInfo().workflowId });
  const result: BackfillSymbolResult = {
    symbol: target.symbol,
    outcome: plan.alreadyCompleted ? 'already_completed' : 'completed',
    barsInserted: 0,
    requests: 0,
    completenessPct: null,
    consecutiveFailures: 0,
    alert: false,
  };
  if (plan.alreadyCompleted) return result;
  if (plan.skipped) {
    setCurrentDetails(`**${target.symbol}**: skipped, ${plan.skipped}`);
    return { ...result, outcome: 'skipped', reason: plan.skipped };
  }
  setCurrentDetails(`**${target.symbol}**: ${plan.missingBars} bars missing in ${plan.gaps} gaps, ${plan.batches.length} batches`);

  let failure: { failureClass: string; message: string } | undefined;
  try {
    for (const ranges of plan.batches) {
      const batch = await fetchBarBatch({ symbol: target.symbol, ranges });
      result.barsInserted += batch.inserted;
      result.requests += batch.requests;
    }
  } catch (err) {
    failure = classify(err);
    result.outcome = 'failed';
    result.failureClass = failure.failureClass;
  }
  const finish = await quick.finishSymbolBackfill({ ...target, from: plan.from, to: plan.to, barsInserted: result.barsInserted, failure });
  result.completenessPct = finish.completenessPct;
  result.consecutiveFailures = finish.consecutiveFailures;
  result.alert = finish.shouldAlert;
  const at = new Date().toISOString();
  if (finish.shouldAlert) {
    log.warn('backfill failure alert', { symbol: target.symbol, consecutiveFailures: finish.consecutiveFailures, error: failure?.message });
    upsertSearchAttributes([{ key: FailureAlert, value: true }]);
    // One alert per streak: later failures of the same streak share its key.
    const streak = { symbol: target.symbol, streakStartedAt: finish.streakStartedAt ?? at, consecutiveFailures: finish.consecutiveFailures, error: failure?.message };
    await raiseAlert(symbolFailingAlert(streak, currentRun(), at));
  } else if (finish.recovered) {
    await raiseAlert(symbolRecoveredAlert({ symbol: target.symbol, streakStartedAt: finish.streakStartedAt ?? at }, currentRun(), at));
  }
  setCurrentDetails(
    `**${target.symbol}**: ${result.outcome}${failure ? ` (${failure.failureClass})` : ''}, ${result.barsInserted} bars inserted, ` +
      `${finish.completenessPct}% complete, ${finish.gapsFilled} gaps filled, ${finish.gapsOpen} open`,
  );
  return result;
}

function classify(err: unknown): { failureClass: string; message: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.type) return { failureClass: cause.type, message: cause.message };
  if (cause instanceof TimeoutFailure) return { failureClass: 'timeout', message: cause.message };
  return { failureClass: 'internal', message: cause instanceof Error ? cause.message : String(cause) };
}
