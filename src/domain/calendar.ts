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
  /**
   * The trading day an instant belongs to: its date in the market's zone, or the next date
   * for the evening part of a session that opens the day before (24x5 FX opens Sunday 17:00
   * New York for Monday).
   */
  localDay(utcMs: number): string;
}

export interface SessionCalendarSpec {
  name: string;
  zone: string;
  /**
   * Local time of the first and of the last bar open, 'HH:mm'. A first bar later than the
   * last one opens the session the day before (17:00 -> 16:55 for FX); the session may
   * not contain a clock change of its zone.
   */
  firstBar: string;
  lastBar: string;
  barMinutes: number;
  /** ISO weekdays that trade, 1 = Monday ... 7 = Sunday. */
  weekdays: readonly number[];
  isHoliday(day: string): boolean;
}

/**
 * A market with one session per trading day: inside the day (08:00-12:55 Bogota), the
 * whole day (24x7 crypto in UTC), or from the evening before (24x5 FX).
 */
export class SessionCalendar implements MarketCalendar {
  readonly name: string;
  readonly zone: string;
  readonly barMinutes: number;
  readonly barsPerDay: number;
  private readonly spec: SessionCalendarSpec;
  private readonly firstMinute: number;
  private readonly opensDayBefore: boolean;

  constructor(spec: SessionCalendarSpec) {
    this.firstMinute = minutesOfDay(spec.firstBar);
    let span = minutesOfDay(spec.lastBar) - this.firstMinute;
    this.opensDayBefore = span < 0;
    if (span < 0) span += 24 * 60;
    if (span % spec.barMinutes !== 0) {
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
    // Adding absolute minutes is exact because the zone does not shift its clock during a session.
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
    const local = DateTime.fromMillis(utcMs, { zone: this.zone });
    const date = local.toISODate() as string;
    return this.opensDayBefore && local.hour * 60 + local.minute >= this.firstMinute ? dayFromEpochDay(epochDay(date) + 1) : date;
  }

  private firstBarMs(day: string): number {
    const openDay = this.opensDayBefore ? dayFromEpochDay(epochDay(day) - 1) : day;
    const first = DateTime.fromISO(`${openDay}T${this.spec.firstBar}`, { zone: this.zone });
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

const holidayCheckers = new Map<string, (day: string) => boolean>();

/** Whether date-holidays knows the country code (ISO 3166-1 alpha-2, e.g. CO, US). */
export function isHolidayCountry(country: string): boolean {
  return /^[A-Z]{2}$/.test(country) && Object.hasOwn(new Holidays().getCountries(), country);
}

/** A country's public holidays (date-holidays, type 'public' only), computed once per year. */
export function publicHolidays(country: string): (day: string) => boolean {
  let check = holidayCheckers.get(country);
  if (!check) {
    let source: Holidays | undefined;
    const byYear = new Map<number, ReadonlySet<string>>();
    check = (day: string) => {
      const year = Number(day.slice(0, 4));
      let days = byYear.get(year);
      if (!days) {
        source ??= new Holidays(country);
        days = new Set(source.getHolidays(year).filter((h) => h.type === 'public').map((h) => h.date.slice(0, 10)));
        byYear.set(year, days);
      }
      return days.has(day);
    };
    holidayCheckers.set(country, check);
  }
  return check;
}

export const isColombianHoliday = publicHolidays('CO');

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

const noHolidays = () => false;

/** Spot FX around the clock: Sunday 17:00 to Friday 16:55 New York, sessions named by the day they close. */
export const FX_24X5: MarketCalendar = new SessionCalendar({
  name: 'fx-24x5',
  zone: 'America/New_York',
  firstBar: '17:00',
  lastBar: '16:55',
  barMinutes: BAR_MINUTES,
  weekdays: [1, 2, 3, 4, 5],
  isHoliday: noHolidays,
});

/** Crypto: every five minutes, every day. */
export const CRYPTO_24X7: MarketCalendar = new SessionCalendar({
  name: 'crypto-24x7',
  zone: 'UTC',
  firstBar: '00:00',
  lastBar: '23:55',
  barMinutes: BAR_MINUTES,
  weekdays: [1, 2, 3, 4, 5, 6, 7],
  isHoliday: noHolidays,
});

/** The calendars a config can name without defining them. */
export const BUILTIN_CALENDARS: Readonly<Record<string, MarketCalendar>> = {
  [COLOMBIA_FX.name]: COLOMBIA_FX,
  [FX_24X5.name]: FX_24X5,
  [CRYPTO_24X7.name]: CRYPTO_24X7,
};

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
