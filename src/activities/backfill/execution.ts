import { notifySignalWaiters } from '../../quality/notify.js';
import type { ActivityDeps } from '../deps.js';
import { OHLCV_TABLE } from '../../db/ohlcv-bars.js';

export interface RegisterBackfillInput {
  executionId: string;
  timeframe: string;
  /** Explicit symbols; otherwise `symbolsFrom` decides. */
  symbols?: string[];
  symbolsFrom?: 'config' | 'database';
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

    /** Adds a pending row per symbol (idempotent); returns how many symbols the execution has. */
    async registerBackfill(input: RegisterBackfillInput): Promise<number> {
      const source =
        input.symbols?.length || input.symbolsFrom !== 'database'
          ? { sql: 'select unnest($3::text[])', symbols: input.symbols?.length ? input.symbols : config.backfill.symbols }
          : { sql: `select distinct symbol from ${OHLCV_TABLE}`, symbols: null };
      await pool.query(
        `insert into backfill_state_persistent (execution_id, symbol, timeframe, status)
         select $1, s, $2, 'pending' from (${source.sql}) as x(s)
         on conflict (execution_id, symbol, timeframe) do nothing`,
        source.symbols ? [input.executionId, input.timeframe, source.symbols] : [input.executionId, input.timeframe],
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
