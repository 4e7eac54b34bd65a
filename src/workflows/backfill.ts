import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  executeChild,
  log,
  patched,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { rootCauseMessage } from '../errors.js';
import { backfillSymbol, type BackfillSymbolResult } from './backfill-symbol.js';
import { FailureAlert, SeedvaultJob } from './search-attributes.js';

export interface BackfillInput {
  /** UUID of the execution in backfill_state_persistent; new when absent. */
  executionId?: string;
  /** Default: backfill.symbols from the config, or every symbol in the table with symbolsFrom 'database'. */
  symbols?: string[];
  symbolsFrom?: 'config' | 'database';
  /** ISO instants; default from each symbol's last bar to the start of the run. */
  from?: string;
  to?: string;
  concurrency?: number;
  /** Rerun only the symbols of `executionId` that failed. */
  retryFailed?: boolean;
  trigger?: string;
  /** Children started per run before continuing as new (bounds the history). */
  childrenPerRun?: number;
  /** Carried across continue-as-new; not for callers. */
  carried?: Carried;
}

export interface BackfillSummary {
  executionId: string;
  total: number;
  completed: number;
  /** Completed by an earlier run of the same execution (resumed), not fetched again. */
  alreadyCompleted: number;
  failed: Record<string, number>;
  barsInserted: number;
  requests: number;
  /** Symbols left alone because another execution was filling them, with the reason (first 100). */
  skipped: number;
  skippedSymbols: { symbol: string; reason: string }[];
  /** Symbols whose failure streak reached the alert threshold (first 100). */
  alerts: string[];
  alertCount: number;
  runs: number;
}

export interface BackfillProgress extends BackfillSummary {
  phase: 'starting' | 'running' | 'continuing' | 'completed';
  concurrency: number;
  inFlight: number;
}

interface Carried {
  summary: BackfillSummary;
  cursor: string | null;
  to: number;
  concurrency: number;
  timeframe: string;
}

export const backfillProgressQuery = defineQuery<BackfillProgress>('progress');
export const setConcurrencyUpdate = defineUpdate<number, [number]>('setConcurrency');

export const MAX_CONCURRENCY = 256;
const PAGE_SIZE = 100;
const DEFAULT_CHILDREN_PER_RUN = 500;
/** Alerting and skipped symbols listed in the summary. */
const MAX_LISTED = 100;

/**
 * Quick database steps run as local activities: no server round trip per step, which is
 * most of the cost of a symbol. They are idempotent, so a replay after a crash may rerun them.
 */
const quick = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

/**
 * Backfill of many symbols: one `backfillSymbol` child per symbol, at most `concurrency`
 * at once (changeable while running with the `setConcurrency` update). Symbols are paged
 * from backfill_state_persistent in name order; after `childrenPerRun` children the run
 * drains and continues as new with the cursor and the summary, so 10,000 symbols never
 * make one huge history. A resumed or retried execution skips completed symbols.
 */
export async function backfill(input: BackfillInput = {}): Promise<BackfillSummary> {
  const info = workflowInfo();
  const executionId = input.executionId ?? uuid4();
  const carried = input.carried ?? (await firstRun(input, executionId));
  // Summaries carried from runs before skips existed lack their fields.
  const state: BackfillProgress = {
    ...carried.summary,
    skipped: carried.summary.skipped ?? 0,
    skippedSymbols: carried.summary.skippedSymbols ?? [],
    runs: carried.summary.runs + 1,
    phase: 'running',
    concurrency: carried.concurrency,
    inFlight: 0,
  };
  const report = () =>
    setCurrentDetails(
      `**${state.phase}** ${executionId}: ${state.completed + state.alreadyCompleted}/${state.total} done, ` +
        `${Object.values(state.failed).reduce((a, b) => a + b, 0)} failed, ${state.skipped} skipped, ${state.inFlight} running (concurrency ${state.concurrency}), ` +
        `${state.barsInserted} bars inserted`,
    );
  setHandler(backfillProgressQuery, () => state);
  setHandler(
    setConcurrencyUpdate,
    (n) => {
      state.concurrency = n;
      report();
      return n;
    },
    {
      validator: (n) => {
        if (!Number.isInteger(n) || n < 1 || n > MAX_CONCURRENCY) throw new RangeError(`concurrency must be an integer from 1 to ${MAX_CONCURRENCY}`);
      },
    },
  );
  upsertSearchAttributes([{ key: SeedvaultJob, value: 'backfill' }]);
  if (state.alertCount > 0) upsertSearchAttributes([{ key: FailureAlert, value: true }]);
  report();

  const childrenPerRun = input.childrenPerRun ?? DEFAULT_CHILDREN_PER_RUN;
  const failedOnly = input.retryFailed ?? false;
  const from = instant(input.from);
  let cursor = carried.cursor;
  let started = 0;
  let exhausted = false;
  while (!exhausted && started < childrenPerRun) {
    const page = await quick.nextSymbols({ executionId, timeframe: carried.timeframe, after: cursor, limit: Math.min(PAGE_SIZE, childrenPerRun - started), failedOnly });
    exhausted = page.length === 0;
    for (const symbol of page) {
      await condition(() => state.inFlight < state.concurrency);
      state.inFlight += 1;
      started += 1;
      cursor = symbol;
      void executeChild(backfillSymbol, {
        workflowId: `${info.workflowId}/${symbol}`,
        args: [{ executionId, symbol, timeframe: carried.timeframe, from, to: carried.to }],
        staticSummary: `backfill ${symbol}`,
      }).then(
        (result) => record(state, result),
        async (err: unknown) => {
          // The child never finished its symbol: mark it failed so retry-failed picks it up.
          if (patched('fail-symbol-of-failed-child')) {
            await quick.failSymbolBackfill({ executionId, symbol, timeframe: carried.timeframe, message: rootCauseMessage(err) });
          }
          record(state, failedChild(symbol, err));
        },
      ).finally(() => {
        state.inFlight -= 1;
        report();
      });
    }
  }
  await condition(() => state.inFlight === 0);
  // A run that ended exactly on its quota may have nothing left: no empty run after it.
  if (!exhausted) exhausted = (await quick.nextSymbols({ executionId, timeframe: carried.timeframe, after: cursor, limit: 1, failedOnly })).length === 0;

  const summary = summaryOf(state);
  if (!exhausted) {
    state.phase = 'continuing';
    report();
    await condition(allHandlersFinished);
    return continueAsNew<typeof backfill>({ ...input, executionId, carried: { ...carried, summary, cursor, concurrency: state.concurrency } });
  }
  await quick.signalDataReady({ runId: info.workflowId, executionId, barsInserted: summary.barsInserted, summary });
  state.phase = 'completed';
  report();
  log.info('backfill completed', { ...summary });
  await condition(allHandlersFinished);
  return summary;
}

async function firstRun(input: BackfillInput, executionId: string): Promise<Carried> {
  const settings = await quick.backfillSettings();
  const timeframe = settings.timeframe;
  const to = instant(input.to) ?? Date.now();
  // Each symbol's range is fixed in its row here; a retry reads it from there.
  const total = input.retryFailed
    ? await quick.countFailedSymbols({ executionId, timeframe })
    : await quick.registerBackfill({ executionId, timeframe, symbols: input.symbols, symbolsFrom: input.symbolsFrom, from: instant(input.from), to });
  return {
    summary: { executionId, total, completed: 0, alreadyCompleted: 0, skipped: 0, skippedSymbols: [], failed: {}, barsInserted: 0, requests: 0, alerts: [], alertCount: 0, runs: 0 },
    cursor: null,
    to,
    concurrency: input.concurrency ?? settings.concurrency,
    timeframe,
  };
}

function instant(iso: string | undefined): number | undefined {
  return iso ? Date.parse(iso) : undefined;
}

function record(state: BackfillProgress, result: BackfillSymbolResult): void {
  if (result.outcome === 'completed') state.completed += 1;
  else if (result.outcome === 'already_completed') state.alreadyCompleted += 1;
  else if (result.outcome === 'skipped') {
    state.skipped += 1;
    if (state.skippedSymbols.length < MAX_LISTED) state.skippedSymbols.push({ symbol: result.symbol, reason: result.reason ?? '' });
  }
  else state.failed[result.failureClass ?? 'internal'] = (state.failed[result.failureClass ?? 'internal'] ?? 0) + 1;
  state.barsInserted += result.barsInserted;
  state.requests += result.requests;
  if (result.alert) {
    state.alertCount += 1;
    if (state.alerts.length < MAX_LISTED) state.alerts.push(result.symbol);
    upsertSearchAttributes([{ key: FailureAlert, value: true }]);
  }
}

/** A child that itself failed (not a provider failure it recorded): counted as internal. */
function failedChild(symbol: string, err: unknown): BackfillSymbolResult {
  log.error('backfill child failed', { symbol, error: rootCauseMessage(err) });
  return { symbol, outcome: 'failed', failureClass: 'internal', barsInserted: 0, requests: 0, completenessPct: null, consecutiveFailures: 0, alert: false };
}

function summaryOf(state: BackfillProgress): BackfillSummary {
  const { phase: _phase, concurrency: _concurrency, inFlight: _inFlight, ...summary } = state;
  return summary;
}
