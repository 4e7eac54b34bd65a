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
