import { DateTime } from 'luxon';
import type { MarketCalendar } from './calendar.js';

/**
 * Gap detection (seed 000): which expected bars of a calendar are missing, how bad each
 * gap is, and how to ask a provider for them. Pure: bar instants are UTC epoch ms.
 */

export type GapSeverity = 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

/** A bar counts as present when one exists within 2 minutes of its expected open. */
export const DEFAULT_TOLERANCE_MS = 2 * 60_000;

const MS_PER_MINUTE = 60_000;

export interface Gap {
  /** Open of the first and of the last missing bar (inclusive). */
  start: number;
  end: number;
  missingBars: number;
  /** Business minutes missing: missing bars x bar length (closed hours never count). */
  minutes: number;
  severity: GapSeverity;
}

export interface GapReport {
  expectedBars: number;
  presentBars: number;
  /** 100 when nothing was expected. */
  completenessPct: number;
  gaps: Gap[];
}

/** A provider request: consecutive bars of one session, first and last open inclusive. */
export interface RequestRange {
  start: number;
  end: number;
  bars: number;
}

export function severityFor(minutes: number): GapSeverity {
  if (minutes <= 15) return 'LOW';
  if (minutes <= 60) return 'MEDIUM';
  if (minutes <= 240) return 'HIGH';
  return 'CRITICAL';
}

/**
 * Compares the expected bars of [fromMs, toMs) with `present` (bar opens, ascending).
 * A gap is a run of consecutive expected bars that are missing; it may span closed
 * hours (a Friday-afternoon-to-Monday-morning outage is one gap) but only the missing
 * bars count towards its severity.
 */
export function detectGaps(
  calendar: MarketCalendar,
  present: readonly number[],
  fromMs: number,
  toMs: number,
  toleranceMs = DEFAULT_TOLERANCE_MS,
): GapReport {
  const gaps: Gap[] = [];
  let expectedBars = 0;
  let presentBars = 0;
  let p = 0;
  let open: { start: number; end: number; missingBars: number } | null = null;
  const close = () => {
    if (!open) return;
    const minutes = open.missingBars * calendar.barMinutes;
    gaps.push({ ...open, minutes, severity: severityFor(minutes) });
    open = null;
  };
  for (const bar of calendar.expectedBars(fromMs, toMs)) {
    expectedBars += 1;
    while (p < present.length && present[p]! < bar - toleranceMs) p += 1;
    if (p < present.length && present[p]! <= bar + toleranceMs) {
      presentBars += 1;
      p += 1;
      close();
    } else if (open) {
      open.end = bar;
      open.missingBars += 1;
    } else {
      open = { start: bar, end: bar, missingBars: 1 };
    }
  }
  close();
  const completenessPct = expectedBars === 0 ? 100 : Math.round((presentBars / expectedBars) * 10_000) / 100;
  return { expectedBars, presentBars, completenessPct, gaps };
}

/**
 * Splits gaps into provider requests of at most `maxPointsPerCall` bars. A request
 * never spans a closed market: each one stays inside a single session, so the provider
 * is never asked for hours that cannot have bars.
 */
export function requestRanges(calendar: MarketCalendar, gaps: readonly Gap[], maxPointsPerCall: number): RequestRange[] {
  if (!(maxPointsPerCall >= 1)) throw new RangeError(`maxPointsPerCall must be >= 1, got ${maxPointsPerCall}`);
  const step = calendar.barMinutes * MS_PER_MINUTE;
  const ranges: RequestRange[] = [];
  for (const gap of gaps) {
    let current: RequestRange | null = null;
    for (const bar of calendar.expectedBars(gap.start, gap.end + 1)) {
      const contiguous = current !== null && bar - current.end === step && calendar.localDay(bar) === calendar.localDay(current.end);
      if (current && contiguous && current.bars < maxPointsPerCall) {
        current.end = bar;
        current.bars += 1;
      } else {
        current = { start: bar, end: bar, bars: 1 };
        ranges.push(current);
      }
    }
  }
  return ranges;
}

/** Groups requests into batches of at most `maxCallsPerBatch` (one activity each). */
export function batchRanges<T>(ranges: readonly T[], maxCallsPerBatch: number): T[][] {
  if (!(maxCallsPerBatch >= 1)) throw new RangeError(`maxCallsPerBatch must be >= 1, got ${maxCallsPerBatch}`);
  const batches: T[][] = [];
  for (let i = 0; i < ranges.length; i += maxCallsPerBatch) batches.push(ranges.slice(i, i + maxCallsPerBatch));
  return batches;
}

/**
 * Whether a gap found in [fromMs, toMs) may go on outside it: no expected bar between the
 * range start and the gap, or between the gap and the range end, was seen present. Such a
 * gap's bounds are the range's, not the data's (the missing bars since the last one keep
 * growing until they are fetched), so it is reported but not recorded.
 */
export function reachesRangeEdge(calendar: MarketCalendar, gap: { start: number; end: number }, fromMs: number, toMs: number): boolean {
  return calendar.expectedBars(fromMs, gap.start).next().done === true || calendar.expectedBars(gap.end + 1, toMs).next().done === true;
}

/** How a gap sits in its market's sessions. */
export type GapType = 'open-of-session' | 'close-of-session' | 'intraday' | 'whole-day' | 'multi-day';

export const GAP_TYPES: readonly GapType[] = ['open-of-session', 'close-of-session', 'intraday', 'whole-day', 'multi-day'];

/**
 * A gap's type by its first and last missing bar: across more than one trading day it is
 * multi-day; inside one session it is the whole day, its start (from the first bar), its
 * end (up to the last bar) or the middle.
 */
export function classifyGap(calendar: MarketCalendar, gap: { start: number; end: number }): GapType {
  const day = calendar.localDay(gap.start);
  if (calendar.localDay(gap.end) !== day) return 'multi-day';
  const session = calendar.sessionBars(day);
  const fromOpen = gap.start === session[0];
  const toClose = gap.end === session.at(-1);
  if (fromOpen && toClose) return 'whole-day';
  if (fromOpen) return 'open-of-session';
  if (toClose) return 'close-of-session';
  return 'intraday';
}

/** Days after which a gap's weight halves in its impact score. */
export const IMPACT_HALF_LIFE_DAYS = 7;

/**
 * How much a gap matters now: its missing business minutes x 0.5^(age / 7 days), the age
 * measured from its last missing bar to `nowMs` (a gap in the future counts as age 0).
 * A 60-minute gap today scores 60, a week ago 30, two weeks ago 15. Two decimals.
 */
export function impactScore(gap: { end: number; minutes: number }, nowMs: number): number {
  const ageDays = Math.max(0, nowMs - gap.end) / 86_400_000;
  return Math.round(gap.minutes * 0.5 ** (ageDays / IMPACT_HALF_LIFE_DAYS) * 100) / 100;
}

/** A gap as recorded in data_gaps, for pattern analysis. */
export interface RecordedGap {
  start: number;
  end: number;
  minutes: number;
  type: GapType;
}

export interface PatternBucket {
  gaps: number;
  minutes: number;
}

export interface GapPatterns {
  /** The market zone weekdays and hours are counted in. */
  zone: string;
  gaps: number;
  minutes: number;
  /** ISO weekday names Monday..Sunday in the market's zone. */
  byWeekday: Record<string, PatternBucket>;
  /** '00'..'23' in the market's zone. */
  byHour: Record<string, PatternBucket>;
  byType: Record<GapType, PatternBucket>;
  /** One entry per week (Monday in the market's zone) from the first week of the lookback to now's week, empty weeks included. */
  byWeek: ({ week: string } & PatternBucket)[];
  /** Least-squares slope of missing minutes per week over `byWeek` (positive: getting worse); 0 with fewer than two weeks. */
  trendMinutesPerWeek: number;
}

const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

/**
 * Seed 000's analyze_gap_patterns over recorded gaps that start in the lookback window
 * [nowMs - lookbackDays, nowMs]. A gap counts once, at its first missing bar, in `gaps`;
 * its missing minutes are spread over the weekday, hour and week of each missing bar.
 */
export function analyzeGapPatterns(calendar: MarketCalendar, gaps: readonly RecordedGap[], nowMs: number, lookbackDays: number): GapPatterns {
  const fromMs = nowMs - lookbackDays * 86_400_000;
  const local = (ms: number) => DateTime.fromMillis(ms, { zone: calendar.zone });
  const weekOf = (ms: number) => local(ms).startOf('week').toISODate() as string;
  const empty = (): PatternBucket => ({ gaps: 0, minutes: 0 });
  const byWeekday = Object.fromEntries(WEEKDAYS.map((d) => [d, empty()]));
  const byHour = Object.fromEntries(Array.from({ length: 24 }, (_, h) => [String(h).padStart(2, '0'), empty()]));
  const byType = Object.fromEntries(GAP_TYPES.map((t) => [t, empty()])) as Record<GapType, PatternBucket>;
  const weeks = new Map<string, PatternBucket>();
  for (let w = local(fromMs).startOf('week'), last = local(nowMs).startOf('week'); w <= last; w = w.plus({ weeks: 1 })) {
    weeks.set(w.toISODate() as string, empty());
  }
  const hourOf = (ms: number) => String(local(ms).hour).padStart(2, '0');
  const weekdayOf = (ms: number) => WEEKDAYS[local(ms).weekday - 1]!;
  let total = 0;
  let minutes = 0;
  for (const gap of gaps) {
    if (gap.start < fromMs || gap.start > nowMs) continue;
    total += 1;
    minutes += gap.minutes;
    byWeekday[weekdayOf(gap.start)]!.gaps += 1;
    byHour[hourOf(gap.start)]!.gaps += 1;
    byType[gap.type].gaps += 1;
    byType[gap.type].minutes += gap.minutes;
    weeks.get(weekOf(gap.start))!.gaps += 1;
    for (const bar of calendar.expectedBars(gap.start, gap.end + 1)) {
      byWeekday[weekdayOf(bar)]!.minutes += calendar.barMinutes;
      byHour[hourOf(bar)]!.minutes += calendar.barMinutes;
      const week = weeks.get(weekOf(bar));
      if (week) week.minutes += calendar.barMinutes;
    }
  }
  const byWeek = [...weeks].map(([week, bucket]) => ({ week, ...bucket }));
  return { zone: calendar.zone, gaps: total, minutes, byWeekday, byHour, byType, byWeek, trendMinutesPerWeek: slope(byWeek.map((w) => w.minutes)) };
}

/** Least-squares slope of `ys` against 0, 1, 2, ...; two decimals. */
function slope(ys: readonly number[]): number {
  const n = ys.length;
  if (n < 2) return 0;
  const meanX = (n - 1) / 2;
  const meanY = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  });
  return Math.round((num / den) * 100) / 100;
}
