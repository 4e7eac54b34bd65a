import { DateTime } from 'luxon';
import type { MarketCalendar } from './calendar.js';
import type { Gap } from './gaps.js';

/**
 * Coverage calendar of the dashboard (issue 17): one cell per local day of a period, its
 * completeness against the symbol's market calendar, and the missing bars as ranges.
 * Pure: the gaps come from detectGaps over the same period.
 */

/** closed: the market does not trade; pending: it trades but no bar of the day is due yet. */
export type DayState = 'closed' | 'pending' | 'complete' | 'missing';

/** Consecutive missing bars of one day: first and last open (inclusive) as 'HH:mm' in the market's zone. */
export interface MissingRange {
  first: string;
  last: string;
  bars: number;
}

export interface CoverageDay {
  day: string;
  state: DayState;
  expectedBars: number;
  missingBars: number;
  /** 100 when nothing was expected. */
  completenessPct: number;
  missing: MissingRange[];
}

/**
 * The days from the local day of `fromMs` to that of `toMs - 1`, both included. Bars count
 * only inside [fromMs, toMs); `gaps` must be the gaps of that same range, so every expected
 * bar between a gap's first and last missing bar is missing.
 */
export function dailyCoverage(calendar: MarketCalendar, gaps: readonly Gap[], fromMs: number, toMs: number): CoverageDay[] {
  const missingByDay = new Map<string, number[]>();
  for (const gap of gaps) {
    for (const bar of calendar.expectedBars(gap.start, gap.end + 1)) {
      const day = calendar.localDay(bar);
      const bars = missingByDay.get(day);
      if (bars) bars.push(bar);
      else missingByDay.set(day, [bar]);
    }
  }
  const out: CoverageDay[] = [];
  const firstDay = DateTime.fromISO(calendar.localDay(fromMs), { zone: 'UTC' });
  const lastDay = calendar.localDay(toMs - 1);
  for (let d = firstDay; ; d = d.plus({ days: 1 })) {
    const day = d.toISODate() as string;
    if (day > lastDay) break;
    const expectedBars = calendar.sessionBars(day).filter((b) => b >= fromMs && b < toMs).length;
    const missingBars = missingByDay.get(day) ?? [];
    const state: DayState = !calendar.isTradingDay(day) ? 'closed' : expectedBars === 0 ? 'pending' : missingBars.length > 0 ? 'missing' : 'complete';
    out.push({
      day,
      state,
      expectedBars,
      missingBars: missingBars.length,
      completenessPct: expectedBars === 0 ? 100 : Math.round((1000 * (expectedBars - missingBars.length)) / expectedBars) / 10,
      missing: missingRanges(calendar, missingBars),
    });
  }
  return out;
}

/** Ascending bar opens of one day -> runs of consecutive bars, in the market's local time. */
function missingRanges(calendar: MarketCalendar, bars: readonly number[]): MissingRange[] {
  const step = calendar.barMinutes * 60_000;
  const runs: { first: number; last: number; bars: number }[] = [];
  for (const bar of bars) {
    const run = runs.at(-1);
    if (run && bar - run.last === step) {
      run.last = bar;
      run.bars += 1;
    } else runs.push({ first: bar, last: bar, bars: 1 });
  }
  const local = (ms: number) => DateTime.fromMillis(ms, { zone: calendar.zone }).toFormat('HH:mm');
  return runs.map((r) => ({ first: local(r.first), last: local(r.last), bars: r.bars }));
}

