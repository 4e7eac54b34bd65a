import type pg from 'pg';
import { DEFAULT_CALENDAR, type MarketCalendar } from '../domain/calendar.js';
import { QUALITY_DEFAULTS, type QualitySettings } from '../domain/quality-settings.js';
import { OHLCV_TABLE } from '../db/ohlcv-bars.js';
import { marketMinutesBetween } from './market-time.js';


export type AnomalyType = 'gap' | 'outlier' | 'staleness';
export type AnomalySeverity = 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

export interface Anomaly {
  symbol: string;
  type: AnomalyType;
  severity: AnomalySeverity;
  /** When it happened in the data: the bar before a gap, the outlier bar, the last bar of a stale symbol. */
  time: string;
  details: Record<string, unknown>;
}

export interface DetectOptions {
  symbol: string;
  /** Only bars at or after this instant (default: all). */
  from?: Date;
  /** "Now" for staleness (default: the clock). */
  now?: Date;
  calendar?: MarketCalendar;
  /**
   * Seed 004's defaults: a hole of more than 24 h of open market, a close-to-close move over
   * 20 %, no bar for 24 h of open market. The config's `quality` section overrides them.
   */
  settings?: Pick<QualitySettings, 'anomaly_gap_market_hours' | 'anomaly_outlier_pct' | 'anomaly_stale_market_hours'>;
}

export interface DetectResult {
  symbol: string;
  found: Anomaly[];
  /** Anomalies not logged before (the rest were already in data_anomalies). */
  inserted: number;
}

/** Finds the anomalies of one symbol without writing anything. */
export async function findAnomalies(pool: pg.Pool, options: DetectOptions): Promise<Anomaly[]> {
  const { symbol } = options;
  const calendar = options.calendar ?? DEFAULT_CALENDAR;
  const now = options.now ?? new Date();
  const from = options.from ?? new Date(0);
  const { anomaly_gap_market_hours: gapHours, anomaly_outlier_pct: outlierPct, anomaly_stale_market_hours: staleHours } = options.settings ?? QUALITY_DEFAULTS;
  const found: Anomaly[] = [];

  // Gaps: only pairs of bars that far apart on the wall clock can hide that much open market.
  const pairs = await pool.query<{ prev: Date; time: Date }>(
    `select prev, time from (
       select time, lag(time) over (order by time) as prev from ${OHLCV_TABLE} where symbol = $1 and time >= $2
     ) b where time - prev > $3::float8 * interval '1 hour' order by time`,
    [symbol, from, gapHours],
  );
  for (const { prev, time } of pairs.rows) {
    const minutes = marketMinutesBetween(calendar, prev.getTime(), time.getTime() - 1);
    const gap = marketTimeAnomaly(symbol, 'gap', minutes, gapHours, prev, { next_bar: time.toISOString(), market_minutes_missing: minutes });
    if (gap) found.push(gap);
  }

  // Outliers: close-to-close moves over the threshold.
  const moves = await pool.query<{ time: Date; prev_close: string; close: string; pct: string }>(
    `select time, prev_close::text, close::text, round(100 * abs(close / prev_close - 1), 2)::text as pct from (
       select time, close, lag(close) over (order by time) as prev_close from ${OHLCV_TABLE} where symbol = $1 and time >= $2
     ) b where prev_close > 0 and abs(close / prev_close - 1) > $3::numeric / 100 order by time`,
    [symbol, from, outlierPct],
  );
  for (const m of moves.rows) {
    found.push({
      symbol,
      type: 'outlier',
      severity: Number(m.pct) > 50 ? 'CRITICAL' : 'HIGH',
      time: m.time.toISOString(),
      details: { previous_close: m.prev_close, close: m.close, move_pct: Number(m.pct) },
    });
  }

  // Staleness: the last bar is more open market ago than the threshold.
  const last = (await pool.query<{ t: Date | null }>(`select max(time) as t from ${OHLCV_TABLE} where symbol = $1`, [symbol])).rows[0]?.t;
  if (last) {
    const minutes = marketMinutesBetween(calendar, last.getTime(), now.getTime());
    const stale = marketTimeAnomaly(symbol, 'staleness', minutes, staleHours, last, { market_minutes_since: minutes, as_of: now.toISOString() });
    if (stale) found.push(stale);
  }
  return found;
}

/** An anomaly when more than `hours` of open market passed after the bar `at` (HIGH; CRITICAL beyond three times that). */
function marketTimeAnomaly(symbol: string, type: 'gap' | 'staleness', minutes: number, hours: number, at: Date, details: Record<string, unknown>): Anomaly | null {
  if (minutes <= hours * 60) return null;
  return { symbol, type, severity: minutes > 3 * hours * 60 ? 'CRITICAL' : 'HIGH', time: at.toISOString(), details: { last_bar: at.toISOString(), ...details } };
}

/**
 * Finds and logs anomalies in data_anomalies. Re-detection finds the logged row (unique on
 * symbol, type, time) and refreshes its details instead of adding one.
 */
export async function detectAnomalies(pool: pg.Pool, options: DetectOptions): Promise<DetectResult> {
  const found = await findAnomalies(pool, options);
  if (found.length === 0) return { symbol: options.symbol, found, inserted: 0 };
  const { rows } = await pool.query<{ inserted: boolean }>(
    `insert into data_anomalies (symbol, anomaly_type, severity, anomaly_time, details)
     select * from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::jsonb[])
     on conflict (symbol, anomaly_type, anomaly_time) do update set severity = excluded.severity, details = excluded.details
     returning (xmax = 0) as inserted`,
    [found.map((a) => a.symbol), found.map((a) => a.type), found.map((a) => a.severity), found.map((a) => a.time), found.map((a) => JSON.stringify(a.details))],
  );
  return { symbol: options.symbol, found, inserted: rows.filter((r) => r.inserted).length };
}
