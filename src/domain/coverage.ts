import { tradingDays, type MarketCalendar } from './calendar.js';

/** One symbol's bars in a snapshot: first and last bar open (epoch ms) and how many rows. */
export interface SymbolSpan {
  symbol: string;
  first: number;
  last: number;
  bars: number;
}

/** How complete a snapshot's bars are against each symbol's market calendar (recorded in the manifest). */
export interface BarCoverage {
  symbols: number;
  /** Bars the calendars expect between each symbol's first and last bar, both included. */
  expected_bars: number;
  present_bars: number;
  /** present / expected, at most 100, two decimals rounded down (100 only when complete); 100 for no bars at all. */
  completeness_pct: number;
}

/** Bars `calendar` expects with fromMs <= open <= toMs, counted day by day (no bar list for whole days). */
export function expectedBarCount(calendar: MarketCalendar, fromMs: number, toMs: number): number {
  if (toMs < fromMs) return 0;
  const firstDay = calendar.localDay(fromMs);
  const lastDay = calendar.localDay(toMs);
  let count = 0;
  for (const day of tradingDays(calendar, firstDay, lastDay)) {
    count += day === firstDay || day === lastDay ? calendar.sessionBars(day).filter((t) => t >= fromMs && t <= toMs).length : calendar.barsPerDay;
  }
  return count;
}

export function barCoverage(spans: readonly SymbolSpan[], calendarOf: (symbol: string) => MarketCalendar): BarCoverage {
  let expected = 0;
  let present = 0;
  for (const span of spans) {
    expected += expectedBarCount(calendarOf(span.symbol), span.first, span.last);
    present += span.bars;
  }
  return { symbols: spans.length, expected_bars: expected, present_bars: present, completeness_pct: percent(present, expected) };
}

/**
 * backup_metadata.quality_score of a bars table: the share of expected bars that are present
 * and not flagged anomalous (data_anomalies in the snapshot's range), as a percentage.
 */
export function barQualityScore(coverage: BarCoverage, anomalousBars: number): number {
  return percent(Math.max(0, coverage.present_bars - anomalousBars), coverage.expected_bars);
}

function percent(part: number, whole: number): number {
  return whole === 0 ? 100 : Math.min(100, Math.floor((10_000 * part) / whole) / 100);
}
