import { DEFAULT_TOLERANCE_MS } from '../domain/gaps.js';
import type { MarketCalendar } from '../domain/calendar.js';

/**
 * Open-market minutes between two instants: the expected bar slots strictly after `fromMs`
 * (plus the bar tolerance) and before `toMs`, times the bar length. Weekends, holidays and
 * nights count zero.
 */
export function marketMinutesBetween(calendar: MarketCalendar, fromMs: number, toMs: number): number {
  let bars = 0;
  for (const _ of calendar.expectedBars(fromMs + DEFAULT_TOLERANCE_MS + 1, toMs)) bars += 1;
  return bars * calendar.barMinutes;
}
