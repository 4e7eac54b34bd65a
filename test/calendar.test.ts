import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { calendarFor } from '../src/config/calendars.js';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../src/config/load.js';
import { BAR_MINUTES, COLOMBIA_FX, CRYPTO_24X7, FX_24X5, isColombianHoliday, tradingDays } from '../src/domain/calendar.js';

const at = (iso: string) => Date.parse(iso);
const bogota = (day: string, time: string) => at(`${day}T${time}:00-05:00`);

describe('Colombian FX calendar', () => {
  test('weekends have no bars', () => {
    for (const day of ['2025-01-04', '2025-01-05', '2026-01-10', '2026-01-11']) {
      assert.equal(COLOMBIA_FX.isTradingDay(day), false, day);
      assert.deepEqual(COLOMBIA_FX.sessionBars(day), [], day);
    }
  });

  test('Colombian public holidays have no bars', () => {
    const holidays = [
      '2026-07-13', // Virgen de Chiquinquirá (Ley 2578 de 2026), Monday after 9 July
      '2025-12-25',
      '2026-01-01',
      '2026-01-12', // Reyes Magos, moved to Monday
      '2025-04-17', // Jueves Santo
      '2025-04-18', // Viernes Santo
      '2026-04-02',
      '2026-04-03',
      '2024-03-28',
      '2024-03-29',
      '2026-06-15', // Sagrado Corazón
      '2026-06-29', // San Pedro y San Pablo
    ];
    for (const day of holidays) {
      assert.equal(isColombianHoliday(day), true, day);
      assert.equal(COLOMBIA_FX.isTradingDay(day), false, day);
      assert.deepEqual(COLOMBIA_FX.sessionBars(day), [], day);
    }
    assert.equal(COLOMBIA_FX.isExpectedBar(bogota('2026-07-13', '10:00')), false);
  });

  test('observances are not holidays: Palm Sunday stays a plain Sunday, the Monday after trades', () => {
    assert.equal(isColombianHoliday('2026-03-29'), false);
    assert.equal(COLOMBIA_FX.isTradingDay('2026-03-30'), true);
  });

  test('a trading day has 60 five-minute bars from 08:00 to 12:55 Bogota', () => {
    const bars = COLOMBIA_FX.sessionBars('2026-07-14');
    assert.equal(BAR_MINUTES, 5);
    assert.equal(COLOMBIA_FX.barsPerDay, 60);
    assert.equal(bars.length, 60);
    assert.equal(bars[0], bogota('2026-07-14', '08:00'));
    assert.equal(bars[59], bogota('2026-07-14', '12:55'));
    for (let i = 1; i < bars.length; i++) assert.equal(bars[i]! - bars[i - 1]!, 5 * 60_000);
  });

  test('session edges: 07:55 and 13:00 are outside, off-grid minutes are not bars', () => {
    const day = '2025-06-03';
    assert.equal(COLOMBIA_FX.isExpectedBar(bogota(day, '08:00')), true);
    assert.equal(COLOMBIA_FX.isExpectedBar(bogota(day, '12:55')), true);
    assert.equal(COLOMBIA_FX.isExpectedBar(bogota(day, '07:55')), false);
    assert.equal(COLOMBIA_FX.isExpectedBar(bogota(day, '13:00')), false);
    assert.equal(COLOMBIA_FX.isExpectedBar(bogota(day, '09:02')), false);
  });

  test('Bogota is UTC-05:00 all year (no daylight saving)', () => {
    for (const day of ['2025-01-15', '2025-03-10', '2025-07-15', '2025-11-04']) {
      assert.equal(COLOMBIA_FX.sessionBars(day)[0], at(`${day}T13:00:00Z`), day);
    }
  });

  test('expectedBars is half-open, lazy and skips non-trading days', () => {
    // Friday 13:00 UTC to Tuesday 13:00 UTC over a weekend: Friday's session and Monday's.
    const bars = [...COLOMBIA_FX.expectedBars(at('2025-06-06T13:00:00Z'), at('2025-06-10T13:00:00Z'))];
    assert.equal(bars.length, 120);
    assert.equal(bars[0], at('2025-06-06T13:00:00Z'));
    assert.equal(bars[119], at('2025-06-09T17:55:00Z'));

    const partial = [...COLOMBIA_FX.expectedBars(bogota('2025-06-06', '12:50'), bogota('2025-06-09', '08:05'))];
    assert.deepEqual(partial, [bogota('2025-06-06', '12:50'), bogota('2025-06-06', '12:55'), bogota('2025-06-09', '08:00')]);
    assert.deepEqual([...COLOMBIA_FX.expectedBars(at('2025-06-06T14:00:00Z'), at('2025-06-06T14:00:00Z'))], []);

    const lazy = COLOMBIA_FX.expectedBars(at('2000-01-01T00:00:00Z'), at('2100-01-01T00:00:00Z'));
    assert.equal(lazy.next().value, bogota('2000-01-03', '08:00'));
  });

  test('the demo range 2020-01-02..2026-01-15 has 1,479 trading days, 88,740 bars', () => {
    const days = [...tradingDays(COLOMBIA_FX, '2020-01-02', '2026-01-15')];
    assert.equal(days.length, 1479);
    assert.equal(days[0], '2020-01-02');
    assert.equal(days.at(-1), '2026-01-15');
    const bars = [...COLOMBIA_FX.expectedBars(bogota('2020-01-02', '00:00'), bogota('2026-01-16', '00:00'))];
    assert.equal(bars.length, 88_740);
  });

  test('localDay is the Bogota date, not the UTC date', () => {
    assert.equal(COLOMBIA_FX.localDay(at('2025-06-07T03:00:00Z')), '2025-06-06');
  });

  test('malformed days are rejected', () => {
    assert.throws(() => COLOMBIA_FX.isTradingDay('2025-02-30'), RangeError);
    assert.throws(() => COLOMBIA_FX.isTradingDay('20250203'), RangeError);
  });
});

describe('24x5 FX and 24x7 crypto calendars', () => {
  test('FX opens Sunday 17:00 New York for Monday and closes Friday 16:55; 288 bars per session', () => {
    assert.equal(FX_24X5.barsPerDay, 288);
    const monday = FX_24X5.sessionBars('2026-01-05');
    assert.equal(monday.length, 288);
    assert.equal(new Date(monday[0]!).toISOString(), '2026-01-04T22:00:00.000Z', 'Sunday 17:00 EST');
    assert.equal(new Date(monday.at(-1)!).toISOString(), '2026-01-05T21:55:00.000Z', 'Monday 16:55 EST');
    assert.equal(FX_24X5.localDay(at('2026-01-04T22:00:00Z')), '2026-01-05', 'Sunday evening belongs to Monday');
    assert.equal(FX_24X5.isExpectedBar(at('2026-01-04T21:55:00Z')), false, 'Sunday 16:55 is closed');
    assert.equal(FX_24X5.isExpectedBar(at('2026-01-09T21:55:00Z')), true, 'Friday 16:55 is the last bar');
    assert.equal(FX_24X5.isExpectedBar(at('2026-01-09T22:00:00Z')), false, 'Friday 17:00 is closed');
    // A full week from Sunday noon to the next Sunday noon: five sessions, no weekend bars.
    const week = [...FX_24X5.expectedBars(at('2026-01-04T17:00:00Z'), at('2026-01-11T17:00:00Z'))];
    assert.equal(week.length, 5 * 288);
    // New York changes its clock on Sunday 8 March 2026 at 02:00, before the 17:00 open: the session opens at 21:00 UTC.
    assert.equal(new Date(FX_24X5.sessionBars('2026-03-09')[0]!).toISOString(), '2026-03-08T21:00:00.000Z');
  });

  test('crypto has a bar every five minutes of every day, in UTC', () => {
    assert.equal(CRYPTO_24X7.barsPerDay, 288);
    assert.equal([...CRYPTO_24X7.expectedBars(at('2026-01-10T00:00:00Z'), at('2026-01-12T00:00:00Z'))].length, 2 * 288, 'a weekend trades');
    assert.equal(CRYPTO_24X7.isExpectedBar(at('2026-12-25T23:55:00Z')), true);
  });

  test('a custom calendar from the config, with its country\'s holidays, and per-symbol choice', () => {
    const config = loadConfig(DEFAULT_CONFIG_PATH, {});
    config.backfill.calendars = { nyse: { zone: 'America/New_York', first_bar: '09:30', last_bar: '15:55', weekdays: [1, 2, 3, 4, 5], holidays: 'US' } };
    config.backfill.symbol_calendars = { SPY: 'nyse', 'BTC/USD': 'crypto-24x7' };
    assert.equal(calendarFor(config, 'USD/COP'), COLOMBIA_FX);
    assert.equal(calendarFor(config, 'BTC/USD'), CRYPTO_24X7);
    const nyse = calendarFor(config, 'SPY');
    assert.equal(nyse.barsPerDay, 78);
    assert.equal(nyse.isTradingDay('2026-07-03'), false, 'Independence Day observed');
    assert.equal(nyse.isTradingDay('2026-07-06'), true);
    assert.equal(calendarFor(config, 'SPY'), nyse, 'built once per config');
  });
});
