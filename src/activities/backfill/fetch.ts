import { ApplicationFailure, Context } from '@temporalio/activity';
import { barProblem, type OhlcBar } from '../../domain/bar-validation.js';
import { calendarFor } from '../../config/calendars.js';
import type { RequestRange } from '../../domain/gaps.js';
import { log } from '../../logging.js';
import type { ActivityDeps } from '../deps.js';
import { insertBars } from '../../db/ohlcv-bars.js';
import { fetchTimeSeries, parseProviderDatetime, ProviderError, type ProviderSettings, type RawBar } from './provider.js';
import { exhaustMinute, trySpendCredits, type Quota } from './rate-budget.js';

export interface FetchBatchInput {
  symbol: string;
  ranges: RequestRange[];
}

export interface FetchBatchResult {
  requests: number;
  received: number;
  inserted: number;
  invalid: number;
}

/** Heartbeat details: where a retried attempt picks up, so finished requests are not paid for twice. */
interface BatchProgress extends FetchBatchResult {
  next: number;
}

/** Waiting for a minute window happens inside the activity (heartbeating); a spent day ends the attempt. */
const MAX_IN_ACTIVITY_WAIT_MS = 65_000;
const HEARTBEAT_EVERY_MS = 5_000;
/** Provider 429s in a row on one request before the attempt gives up. */
const MAX_RATE_LIMITED_IN_A_ROW = 5;

/**
 * One batch of provider requests for a symbol: each request first spends a credit from
 * the shared budget, then its bars are validated and inserted idempotently.
 */
export function fetchActivities({ config, pool, metrics }: ActivityDeps) {
  const provider = config.backfill.provider;
  const settings: ProviderSettings = {
    baseUrl: provider.base_url,
    apiKey: provider.api_key,
    interval: config.backfill.timeframe,
    timeoutMs: provider.request_timeout_seconds * 1000,
  };
  const budgetKey = new URL(provider.base_url).origin;
  const quota: Quota = { perMinute: provider.credits_per_minute, perDay: provider.credits_per_day };

  async function spendCredit(progress: BatchProgress): Promise<void> {
    for (;;) {
      const answer = await trySpendCredits(pool, budgetKey, quota);
      if (answer.granted) {
        metrics.creditsSpent(1);
        return;
      }
      if (answer.retryAfterMs > MAX_IN_ACTIVITY_WAIT_MS) {
        metrics.rateWaited(answer.window, answer.retryAfterMs / 1000);
        throw ApplicationFailure.create({
          type: 'rate_limited',
          message: `provider ${answer.window} credit budget spent; next window in ${Math.ceil(answer.retryAfterMs / 60_000)} min`,
          nextRetryDelay: answer.retryAfterMs,
        });
      }
      const waitMs = Math.min(answer.retryAfterMs + Math.floor(Math.random() * 200), HEARTBEAT_EVERY_MS);
      metrics.rateWaited(answer.window, waitMs / 1000);
      await sleepHeartbeating(waitMs, progress);
    }
  }

  async function sleepHeartbeating(ms: number, progress: BatchProgress): Promise<void> {
    const context = Context.current();
    for (let left = ms; left > 0; left -= HEARTBEAT_EVERY_MS) {
      context.heartbeat(progress);
      await context.sleep(Math.min(left, HEARTBEAT_EVERY_MS));
    }
  }

  async function request(symbol: string, range: RequestRange, progress: BatchProgress): Promise<RawBar[]> {
    for (let limited = 0; ; limited += 1) {
      await spendCredit(progress);
      try {
        const bars = await fetchTimeSeries(settings, { symbol, ...range });
        metrics.providerRequest('ok');
        return bars;
      } catch (err) {
        metrics.providerRequest(err instanceof ProviderError ? err.failureClass : 'error');
        if (!(err instanceof ProviderError)) throw err;
        if (err.failureClass === 'market_closed') return [];
        if (err.failureClass === 'rate_limited' && limited < MAX_RATE_LIMITED_IN_A_ROW) {
          // Without a Retry-After the provider's minute is spent: close it for every worker.
          if (err.retryAfterMs === undefined) await exhaustMinute(pool, budgetKey, quota);
          else await sleepHeartbeating(err.retryAfterMs, progress);
          continue;
        }
        throw ApplicationFailure.create({ type: err.failureClass, message: err.message, nonRetryable: err.failureClass === 'bad_symbol' });
      }
    }
  }

  return {
    async fetchBarBatch(input: FetchBatchInput): Promise<FetchBatchResult> {
      const context = Context.current();
      const calendar = calendarFor(config, input.symbol);
      const resumed = context.info.heartbeatDetails as BatchProgress | undefined;
      const progress: BatchProgress = resumed ?? { next: 0, requests: 0, received: 0, inserted: 0, invalid: 0 };
      for (; progress.next < input.ranges.length; progress.next += 1) {
        const range = input.ranges[progress.next]!;
        const raw = await request(input.symbol, range, progress);
        progress.requests += 1;
        progress.received += raw.length;
        const valid: OhlcBar[] = [];
        for (const r of raw) {
          // Untrusted answer: a value that is not an object, or whose datetime cannot be read, is an invalid bar.
          const time = r !== null && typeof r === 'object' ? parseProviderDatetime(r.datetime) : Number.NaN;
          if (!Number.isFinite(time)) {
            progress.invalid += 1;
            log.warn({ symbol: input.symbol, problem: 'unreadable bar' }, 'invalid bar from the provider skipped');
            continue;
          }
          const bar: OhlcBar = { time, open: r.open, high: r.high, low: r.low, close: r.close, volume: r.volume ?? '0' };
          // Bars outside the asked range or off the session grid are not ours to store.
          if (!(bar.time >= range.start && bar.time <= range.end && calendar.isExpectedBar(bar.time))) continue;
          const problem = barProblem(bar);
          if (problem) {
            progress.invalid += 1;
            log.warn({ symbol: input.symbol, datetime: r.datetime, problem }, 'invalid bar from the provider skipped');
          } else valid.push(bar);
        }
        const inserted = await insertBars(pool, input.symbol, valid);
        progress.inserted += inserted;
        metrics.barsInsertedBy(inserted);
        context.heartbeat({ ...progress, next: progress.next + 1 });
      }
      const { next: _next, ...result } = progress;
      return result;
    },
  };
}
