import type pg from 'pg';

export interface BackfillExecutionSummary {
  execution_id: string;
  started: Date;
  symbols: number;
  completed: number;
  failed: number;
  open: number;
  bars: number;
  /**
   * Symbol failure / recovery alerts raised for the execution's symbols while it ran, or in
   * the few minutes after its last update, when the alerting workflow delivers them.
   */
  alerts: number;
}

/** The newest backfill executions (started at or after `since`), one row each with its symbols by state. */
export async function recentBackfillExecutions(pool: pg.Pool, options: { limit: number; since?: Date }): Promise<BackfillExecutionSummary[]> {
  const { rows } = await pool.query<BackfillExecutionSummary>(
    `with executions as (
       select execution_id, min(created_at) as started, max(coalesce(completed_at, updated_at)) as ended, array_agg(symbol) as symbol_list,
              count(*)::int as symbols,
              count(*) filter (where status = 'completed')::int as completed,
              count(*) filter (where status = 'failed')::int as failed,
              count(*) filter (where status in ('pending', 'in_progress'))::int as open,
              coalesce(sum(records_inserted), 0)::int as bars
       from backfill_state_persistent group by execution_id
       having min(created_at) >= coalesce($2, '-infinity'::timestamptz)
       order by min(created_at) desc limit $1
     )
     select execution_id, started, symbols, completed, failed, open, bars,
            (select count(distinct a.dedupe_key)::int from alert_deliveries a
             where a.kind in ('symbol_failing', 'symbol_recovered') and a.created_at between e.started and e.ended + interval '5 minutes'
               and split_part(a.dedupe_key, ':', 2) = any(e.symbol_list)) as alerts
     from executions e order by started desc`,
    [options.limit, options.since ?? null],
  );
  return rows;
}
