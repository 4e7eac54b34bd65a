import Holidays from 'date-holidays';
import { DateTime } from 'luxon';

/**
 * Trading calendars: which local days trade and which bar instants a session has.
 * Pure and deterministic (no I/O, no clock), so workflow code may import it.
 * Days are 'YYYY-MM-DD' strings in the market's zone; instants are UTC epoch milliseconds.
 */

export const BAR_MINUTES = 5;

const MS_PER_MINUTE = 60_000;
const MS_PER_DAY = 86_400_000;

export interface MarketCalendar {
  readonly name: string;
  /** IANA zone the session hours are written in. */
  readonly zone: string;
  readonly barMinutes: number;
  readonly barsPerDay: number;
  isTradingDay(day: string): boolean;
  /** Bar open instants of the day's session, ascending; empty when the day does not trade. */
  sessionBars(day: string): number[];
  /** Every expected bar open t with fromUtcMs <= t < toUtcMs, ascending, generated lazily. */
  expectedBars(fromUtcMs: number, toUtcMs: number): Generator<number>;
  isExpectedBar(utcMs: number): boolean;
  /** The market-zone day an instant falls on. */
  localDay(utcMs: number): string;
}

export interface SessionCalendarSpec {
  name: string;
  zone: string;
  /** Local time of the first and of the last bar open, 'HH:mm'. */
  firstBar: string;
  lastBar: string;
  barMinutes: number;
  /** ISO weekdays that trade, 1 = Monday ... 7 = Sunday. */
  weekdays: readonly number[];
  isHoliday(day: string): boolean;
}

/**
 * A market with one session inside each local day (e.g. 08:00-12:55). Sessions that
 * cross midnight (24x5 FX, 24x7 crypto) need their own MarketCalendar implementation.
 */
export class SessionCalendar implements MarketCalendar {
  readonly name: string;
  readonly zone: string;
  readonly barMinutes: number;
  readonly barsPerDay: number;
  private readonly spec: SessionCalendarSpec;

  constructor(spec: SessionCalendarSpec) {
    const span = minutesOfDay(spec.lastBar) - minutesOfDay(spec.firstBar);
    if (span < 0 || span % spec.barMinutes !== 0) {
      throw new RangeError(`${spec.name}: last bar ${spec.lastBar} is not on the ${spec.barMinutes}-minute grid after ${spec.firstBar}`);
    }
    this.spec = spec;
    this.name = spec.name;
    this.zone = spec.zone;
    this.barMinutes = spec.barMinutes;
    this.barsPerDay = span / spec.barMinutes + 1;
  }

  isTradingDay(day: string): boolean {
    return this.spec.weekdays.includes(isoWeekday(day)) && !this.spec.isHoliday(day);
  }

  sessionBars(day: string): number[] {
    if (!this.isTradingDay(day)) return [];
    const first = this.firstBarMs(day);
    // Adding absolute minutes is exact because no zone shifts its clock during a day session.
    return Array.from({ length: this.barsPerDay }, (_, i) => first + i * this.barMinutes * MS_PER_MINUTE);
  }

  *expectedBars(fromUtcMs: number, toUtcMs: number): Generator<number> {
    if (!(fromUtcMs < toUtcMs)) return;
    for (const day of tradingDays(this, this.localDay(fromUtcMs), this.localDay(toUtcMs))) {
      for (const bar of this.sessionBars(day)) {
        if (bar >= toUtcMs) return;
        if (bar >= fromUtcMs) yield bar;
      }
    }
  }

  isExpectedBar(utcMs: number): boolean {
    const day = this.localDay(utcMs);
    if (!this.isTradingDay(day)) return false;
    const offset = utcMs - this.firstBarMs(day);
    const step = this.barMinutes * MS_PER_MINUTE;
    return offset >= 0 && offset % step === 0 && offset / step < this.barsPerDay;
  }

  localDay(utcMs: number): string {
    return DateTime.fromMillis(utcMs, { zone: this.zone }).toISODate() as string;
  }

  private firstBarMs(day: string): number {
    const first = DateTime.fromISO(`${day}T${this.spec.firstBar}`, { zone: this.zone });
    if (!first.isValid) throw new RangeError(`invalid day '${day}'`);
    return first.toMillis();
  }
}

/** Trading days from `fromDay` to `toDay`, both included, ascending. */
export function* tradingDays(calendar: MarketCalendar, fromDay: string, toDay: string): Generator<string> {
  for (let n = epochDay(fromDay), end = epochDay(toDay); n <= end; n++) {
    const day = dayFromEpochDay(n);
    if (calendar.isTradingDay(day)) yield day;
  }
}

const colombianHolidays = new Map<number, ReadonlySet<string>>();
let colombianHolidaySource: Holidays | undefined;

/** Colombian public holidays (date-holidays 'CO', type 'public' only), computed once per year. */
export function isColombianHoliday(day: string): boolean {
  const year = Number(day.slice(0, 4));
  let days = colombianHolidays.get(year);
  if (!days) {
    colombianHolidaySource ??= new Holidays('CO');
    days = new Set(
      colombianHolidaySource
        .getHolidays(year)
        .filter((h) => h.type === 'public')
        .map((h) => h.date.slice(0, 10)),
    );
    colombianHolidays.set(year, days);
  }
  return days.has(day);
}

/** The USD/COP spot session: 08:00-12:55 Bogota (60 five-minute bars), Monday-Friday, no CO holidays. */
export const COLOMBIA_FX: MarketCalendar = new SessionCalendar({
  name: 'colombia-fx',
  zone: 'America/Bogota',
  firstBar: '08:00',
  lastBar: '12:55',
  barMinutes: BAR_MINUTES,
  weekdays: [1, 2, 3, 4, 5],
  isHoliday: isColombianHoliday,
});

export const DEFAULT_CALENDAR = COLOMBIA_FX;

function minutesOfDay(hhmm: string): number {
  const match = /^(\d{2}):(\d{2})$/.exec(hhmm);
  if (!match) throw new RangeError(`invalid time of day '${hhmm}'`);
  return Number(match[1]) * 60 + Number(match[2]);
}

function epochDay(day: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  const n = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) / MS_PER_DAY : NaN;
  // Date.UTC rolls 2026-02-30 over to March; the round trip rejects such days.
  if (Number.isNaN(n) || dayFromEpochDay(n) !== day) throw new RangeError(`invalid day '${day}', expected YYYY-MM-DD`);
  return n;
}

function dayFromEpochDay(n: number): string {
  return new Date(n * MS_PER_DAY).toISOString().slice(0, 10);
}

/** 1 = Monday ... 7 = Sunday; epoch day 0 (1970-01-01) was a Thursday. */
function isoWeekday(day: string): number {
  return ((((epochDay(day) + 3) % 7) + 7) % 7) + 1;
}
