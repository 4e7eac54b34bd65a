import { BAR_MINUTES, BUILTIN_CALENDARS, publicHolidays, SessionCalendar, type MarketCalendar } from '../domain/calendar.js';
import type { SeedvaultConfig } from './schema.js';

type BackfillConfig = SeedvaultConfig['backfill'];

/** Custom calendars built once per loaded config. */
const customByConfig = new WeakMap<BackfillConfig, Map<string, MarketCalendar>>();

/**
 * A symbol's market calendar: its entry in `backfill.symbol_calendars`, else
 * `backfill.calendar`; a built-in one or one defined under `backfill.calendars`.
 * The config schema has already checked that every name exists.
 */
export function calendarFor(config: SeedvaultConfig, symbol: string): MarketCalendar {
  const backfill = config.backfill;
  const name = backfill.symbol_calendars[symbol] ?? backfill.calendar;
  const builtin = BUILTIN_CALENDARS[name];
  if (builtin) return builtin;
  let custom = customByConfig.get(backfill);
  if (!custom) customByConfig.set(backfill, (custom = new Map()));
  let calendar = custom.get(name);
  if (!calendar) {
    const spec = backfill.calendars[name];
    if (!spec) throw new RangeError(`unknown calendar "${name}"`);
    calendar = new SessionCalendar({
      name,
      zone: spec.zone,
      firstBar: spec.first_bar,
      lastBar: spec.last_bar,
      barMinutes: BAR_MINUTES,
      weekdays: spec.weekdays,
      isHoliday: spec.holidays ? publicHolidays(spec.holidays) : () => false,
    });
    custom.set(name, calendar);
  }
  return calendar;
}
