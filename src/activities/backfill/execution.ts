import { notifySignalWaiters } from '../../quality/notify.js';
import type { ActivityDeps } from '../deps.js';
import { OHLCV_TABLE } from '../../db/ohlcv-bars.js';

export interface RegisterBackfillInput {
  executionId: string;
  timeframe: string;
  /** Explicit symbols; otherwise `symbolsFrom` decides. */
  symbols?: string[];
  symbolsFrom?: 'config' | 'database';
  /** Epoch ms; default per symbol: just after its last bar (or `default_lookback_days` before `to`). */
  from?: number;
  to: number;
}

export interface NextSymbolsInput {
  executionId: string;
  timeframe: string;
  /** Symbols are handed out in name order; the page starts after this one. */
  after: string | null;
  limit: number;
  /** true: only symbols that failed (retry-failed); false: those not yet done. */
  failedOnly: boolean;
}

/**
 * SQL for where a symbol's range starts: `from` when given, else just after the symbol's
 * last bar, else `lookbackDays` before `to`; never at or past `to` (a symbol already up
 * to date gets an empty range, not a reversed one). Arguments are SQL expressions.
 */
export function rangeFromSql(symbol: string, from: string, to: string, lookbackDays: string): string {
  return `least(coalesce(${from}::timestamptz,
                         (select max(time) from ${OHLCV_TABLE} where symbol = ${symbol}) + interval '1 millisecond',
                         ${to}::timestamptz - ${lookbackDays}::int * interval '1 day'),
                ${to}::timestamptz - interval '1 millisecond')`;
}

/** An optional epoch-ms bound as a query parameter. */
export function rangeBound(ms: number | undefined): Date | null {
  return ms === undefined ? null : new Date(ms);
}

export interface BackfillSettings {
  concurrency: number;
  timeframe: string;
}

/**
 * A backfill execution in `backfill_state_persistent`: one row per symbol under one
 * UUID. The parent workflow pages through these rows instead of carrying 10,000 symbol
 * names in its history, and a retry pages through the failed ones only.
 */
export function executionActivities({ config, pool, temporal }: ActivityDeps) {
  return {
    async backfillSettings(): Promise<BackfillSettings> {
      return { concurrency: config.backfill.concurrency, timeframe: config.backfill.timeframe };
    },

    /**
     * Adds a pending row per symbol with its range fixed (idempotent: a row keeps its first
     * range), before any child starts: a symbol whose child ends before planning is retried
     * over the same bars. Returns how many symbols the execution has.
     */
    async registerBackfill(input: RegisterBackfillInput): Promise<number> {
      const source =
        input.symbols?.length || input.symbolsFrom !== 'database'
          ? { sql: 'select unnest($6::text[])', symbols: input.symbols?.length ? input.symbols : config.backfill.symbols }
          : { sql: `select distinct symbol from ${OHLCV_TABLE}`, symbols: null };
      const params = [input.executionId, input.timeframe, rangeBound(input.from), new Date(input.to), config.backfill.default_lookback_days];
      await pool.query(
        `insert into backfill_state_persistent (execution_id, symbol, timeframe, status, range_from, range_to)
         select $1, s, $2, 'pending', ${rangeFromSql('s', '$3', '$4', '$5')}, $4 from (${source.sql}) as x(s)
         on conflict (execution_id, symbol, timeframe) do nothing`,
        source.symbols ? [...params, source.symbols] : params,
      );
      return countSymbols(input.executionId, input.timeframe, false);
    },

    async countFailedSymbols(input: { executionId: string; timeframe: string }): Promise<number> {
      return countSymbols(input.executionId, input.timeframe, true);
    },

    async nextSymbols(input: NextSymbolsInput): Promise<string[]> {
      const { rows } = await pool.query<{ symbol: string }>(
        `select symbol from backfill_state_persistent
         where execution_id = $1 and timeframe = $2 and symbol > coalesce($3, '')
           and (case when $4 then status = 'failed' else status <> 'completed' end)
         order by symbol limit $5`,
        [input.executionId, input.timeframe, input.after, input.failedOnly, input.limit],
      );
      return rows.map((r) => r.symbol);
    },

    /** DATA_READY for the pipeline (seed 000), once per run. */
    async signalDataReady(input: { runId: string; executionId: string; barsInserted: number; summary: unknown }): Promise<void> {
      await pool.query(
        `insert into ready_signals (pipeline_run_id, signal_type, status, records_available, metadata)
         select $1, 'DATA_READY', 'completed', $2, $3
         where not exists (select 1 from ready_signals where pipeline_run_id = $1 and signal_type = 'DATA_READY')`,
        [input.runId, input.barsInserted, JSON.stringify({ execution_id: input.executionId, summary: input.summary })],
      );
      // Wake `signals wait DATA_READY` (issue 7); a missed wake is caught by the waiter's re-check.
      await notifySignalWaiters(temporal, config.temporal.task_queue, ['DATA_READY']).catch(() => {});
    },
  };

  async function countSymbols(executionId: string, timeframe: string, failedOnly: boolean): Promise<number> {
    const { rows } = await pool.query<{ n: number }>(
      `select count(*)::int as n from backfill_state_persistent
       where execution_id = $1 and timeframe = $2 and (not $3 or status = 'failed')`,
      [executionId, timeframe, failedOnly],
    );
    return rows[0]!.n;
  }
}
