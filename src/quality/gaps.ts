import type pg from 'pg';
import type { SeedvaultConfig } from '../config/schema.js';
import { calendarFor } from '../config/calendars.js';
import type { MarketCalendar } from '../domain/calendar.js';
import {
  analyzeGapPatterns,
  classifyGap,
  DEFAULT_TOLERANCE_MS,
  detectGaps,
  impactScore,
  reachesRangeEdge,
  type Gap,
  type GapPatterns,
  type GapReport,
  type GapType,
} from '../domain/gaps.js';
import { barTimes, firstBarTime } from '../db/ohlcv-bars.js';

export interface ScoredGap extends Gap {
  type: GapType;
  impactScore: number;
  /** false: the gap reaches an end of the range examined, so its true bounds are unknown (never recorded). */
  closed: boolean;
}

export interface SymbolGapReport extends Omit<GapReport, 'gaps'> {
  symbol: string;
  calendar: MarketCalendar;
  from: number;
  to: number;
  gaps: ScoredGap[];
}

/**
 * A symbol's gaps in [from, to) by its market calendar, each with its type and impact as
 * of `to`. `from` defaults to the symbol's first bar, or `lookbackDays` before `to`.
 */
export async function symbolGapReport(
  pool: pg.Pool,
  config: SeedvaultConfig,
  symbol: string,
  range: { from?: number; to: number; lookbackDays: number },
): Promise<SymbolGapReport> {
  const { to } = range;
  const from = range.from ?? (await firstBarTime(pool, symbol)) ?? to - range.lookbackDays * 86_400_000;
  const present = await barTimes(pool, symbol, from - DEFAULT_TOLERANCE_MS, to + DEFAULT_TOLERANCE_MS);
  const calendar = calendarFor(config, symbol);
  const report = detectGaps(calendar, present, from, to);
  const gaps = report.gaps.map((g) => ({
    ...g,
    type: classifyGap(calendar, g),
    impactScore: impactScore(g, to),
    closed: !reachesRangeEdge(calendar, g, from, to),
  }));
  return { ...report, symbol, calendar, from, to, gaps };
}

/**
 * Upserts the closed gaps of a report into data_gaps as 'detected' (one row per symbol,
 * first and last missing bar). A gap already recorded keeps its fill status, except a
 * 'filled' one found missing again, which is detected anew; its type and impact are
 * refreshed. Returns how many rows were new and how many were already there.
 */
export async function recordGaps(pool: pg.Pool, report: SymbolGapReport, detectedBy: string): Promise<{ inserted: number; updated: number }> {
  const gaps = report.gaps.filter((g) => g.closed);
  if (gaps.length === 0) return { inserted: 0, updated: 0 };
  const metadata = gaps.map((g) => JSON.stringify({ business_minutes: g.minutes, calendar: report.calendar.name }));
  const { rows } = await pool.query<{ inserted: boolean }>(
    `insert into data_gaps (symbol, gap_start, gap_end, missing_points, detected_by, severity, gap_type, impact_score, metadata)
     select $1, t.gap_start, t.gap_end, t.missing, $2, t.severity, t.gap_type, t.impact, t.metadata
     from unnest($3::timestamptz[], $4::timestamptz[], $5::int[], $6::text[], $7::text[], $8::numeric[], $9::jsonb[])
       as t(gap_start, gap_end, missing, severity, gap_type, impact, metadata)
     on conflict (symbol, gap_start, gap_end) do update
       set missing_points = excluded.missing_points, severity = excluded.severity, gap_type = excluded.gap_type,
           impact_score = excluded.impact_score, metadata = data_gaps.metadata || excluded.metadata,
           fill_status = case when data_gaps.fill_status = 'filled' then 'detected' else data_gaps.fill_status end,
           resolved_at = case when data_gaps.fill_status = 'filled' then null else data_gaps.resolved_at end
     returning (xmax = 0) as inserted`,
    [
      report.symbol,
      detectedBy,
      gaps.map((g) => new Date(g.start)),
      gaps.map((g) => new Date(g.end)),
      gaps.map((g) => g.missingBars),
      gaps.map((g) => g.severity),
      gaps.map((g) => g.type),
      gaps.map((g) => g.impactScore),
      metadata,
    ],
  );
  const inserted = rows.filter((r) => r.inserted).length;
  return { inserted, updated: rows.length - inserted };
}

/** Seed 000's analyze_gap_patterns over one symbol's gaps recorded in data_gaps that start in the lookback. */
export async function recordedGapPatterns(pool: pg.Pool, config: SeedvaultConfig, symbol: string, now: number, lookbackDays: number): Promise<GapPatterns> {
  const calendar = calendarFor(config, symbol);
  const { rows } = await pool.query<{ gap_start: Date; gap_end: Date; missing_points: number; gap_type: GapType | null }>(
    `select gap_start, gap_end, missing_points, gap_type from data_gaps
     where symbol = $1 and gap_start >= $2 and gap_start <= $3 order by gap_start`,
    [symbol, new Date(now - lookbackDays * 86_400_000), new Date(now)],
  );
  const gaps = rows.map((r) => {
    const bounds = { start: r.gap_start.getTime(), end: r.gap_end.getTime() };
    // Rows recorded before gap types existed are classified now.
    return { ...bounds, minutes: r.missing_points * calendar.barMinutes, type: r.gap_type ?? classifyGap(calendar, bounds) };
  });
  return analyzeGapPatterns(calendar, gaps, now, lookbackDays);
}

/** Symbols with gaps recorded since `sinceMs`, in name order. */
export async function symbolsWithRecordedGaps(pool: pg.Pool, sinceMs: number): Promise<string[]> {
  const { rows } = await pool.query<{ symbol: string }>(`select distinct symbol from data_gaps where gap_start >= $1 order by symbol`, [new Date(sinceMs)]);
  return rows.map((r) => r.symbol);
}
