import pg from 'pg';

/** Seed 001's materialized views (migration 009), in the order they are refreshed. */
export const ANALYTICS_VIEWS = ['daily_ohlc_summary', 'hourly_trading_metrics', 'api_usage_efficiency'] as const;

export type AnalyticsView = (typeof ANALYTICS_VIEWS)[number];

export interface ViewRefresh {
  view: AnalyticsView;
  /** `concurrent`: readers kept the previous rows meanwhile; `initial`: the first fill of a never-populated view. */
  mode: 'concurrent' | 'initial';
  rows: number;
  ms: number;
}

/**
 * Refreshes each view without blocking its readers (REFRESH ... CONCURRENTLY, which the
 * views' unique indexes allow). A view never populated (as migration 009 creates them) cannot
 * be refreshed concurrently, and has no rows anyone could be reading: it gets a plain refresh.
 */
export async function refreshAnalyticsViews(pool: pg.Pool, onView: (view: AnalyticsView) => void = () => {}): Promise<ViewRefresh[]> {
  const client = await pool.connect();
  try {
    const out: ViewRefresh[] = [];
    for (const view of ANALYTICS_VIEWS) {
      onView(view);
      const started = Date.now();
      const name = pg.escapeIdentifier(view);
      const { rows } = await client.query<{ populated: boolean }>(`select relispopulated as populated from pg_class where oid = $1::regclass`, [view]);
      const mode = rows[0]!.populated ? 'concurrent' : 'initial';
      await client.query(`refresh materialized view ${mode === 'concurrent' ? 'concurrently ' : ''}${name}`);
      const count = await client.query<{ n: number }>(`select count(*)::int as n from ${name}`);
      out.push({ view, mode, rows: count.rows[0]!.n, ms: Date.now() - started });
    }
    return out;
  } finally {
    client.release();
  }
}
