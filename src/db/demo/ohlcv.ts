import { DateTime } from 'luxon';
import { BAR_MINUTES, COLOMBIA_FX, tradingDays } from '../../domain/calendar.js';
import { minuteTimestampText, type CopyTable } from './copy-text.js';
import { createRandom } from './random.js';

export const OHLCV_FIRST_DAY = '2020-01-02';
export const OHLCV_LAST_DAY = '2026-01-15';
export const PRIMARY_SYMBOL = 'USD/COP';
export const BAR_MS = BAR_MINUTES * 60_000;

/**
 * Bars deliberately missing from every symbol (Bogota time, both ends included), so gap
 * detection and backfill have something to find: a few short feed drops and one lost afternoon.
 */
export const PLANTED_GAPS = [
  { day: '2021-03-15', firstBar: '10:30', lastBar: '10:40' },
  { day: '2022-09-14', firstBar: '11:15', lastBar: '11:15' },
  { day: '2023-05-10', firstBar: '09:00', lastBar: '09:25' },
  { day: '2024-11-29', firstBar: '10:30', lastBar: '12:55' },
  { day: '2025-08-12', firstBar: '12:50', lastBar: '12:50' },
] as const;

/** One bar; prices are integer ten-thousandths so the 4-decimal rounding happens once, here. */
export interface DemoBar {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** 'USD/COP' first, then synthetic 'SYM002', 'SYM003', ... on the same calendar. */
export function demoSymbols(scale: number): string[] {
  return Array.from({ length: scale }, (_, i) => (i === 0 ? PRIMARY_SYMBOL : `SYM${String(i + 1).padStart(3, '0')}`));
}

export function ohlcvTable(scale: number, seed: number): CopyTable {
  return {
    table: 'usdcop_m5_ohlcv',
    columns: ['symbol', 'time', 'open', 'high', 'low', 'close', 'volume', 'source', 'created_at'],
    rows: function* () {
      for (const symbol of demoSymbols(scale)) {
        for (const bar of barSeries(symbol, seed)) {
          yield [
            symbol,
            minuteTimestampText(bar.time),
            formatTicks(bar.open),
            formatTicks(bar.high),
            formatTicks(bar.low),
            formatTicks(bar.close),
            bar.volume,
            'demo',
            // Ingested when the bar closed.
            minuteTimestampText(bar.time + BAR_MS),
          ];
        }
      }
    },
  };
}

/** The UTC instants of every planted gap bar. */
export function plantedGapBars(): Set<number> {
  const bars = new Set<number>();
  for (const gap of PLANTED_GAPS) {
    const first = bogotaInstant(gap.day, gap.firstBar);
    const last = bogotaInstant(gap.day, gap.lastBar);
    for (const bar of COLOMBIA_FX.sessionBars(gap.day)) {
      if (bar >= first && bar <= last) bars.add(bar);
    }
  }
  return bars;
}

// Mean-reverting walk of the log price around 4,200 COP, reflected inside 3,500-5,000.
const LOG_MEAN = Math.log(4200);
const LOG_FLOOR = Math.log(3500);
const LOG_CEILING = Math.log(5000);
const BAR_VOLATILITY = 0.0009; // ~0.7 % a day over 60 bars
const OVERNIGHT_VOLATILITY = 0.002;
const REVERSION_PER_BAR = Math.LN2 / 15_000; // half-life of about a year of bars

/** The bar series of one symbol, generated lazily; the same (symbol, seed) always gives the same bars. */
export function* barSeries(symbol: string, seed: number): Generator<DemoBar> {
  const random = createRandom(seed, `ohlcv:${symbol}`);
  const gaps = plantedGapBars();
  let logPrice = Math.log(3600 + 800 * random.next());

  for (const bars of sessionGrid()) {
    logPrice = reflect(logPrice + OVERNIGHT_VOLATILITY * random.normal());
    for (let i = 0; i < bars.length; i++) {
      const logOpen = logPrice;
      logPrice = reflect(logPrice + REVERSION_PER_BAR * (LOG_MEAN - logPrice) + BAR_VOLATILITY * random.normal());
      const open = toTicks(logOpen);
      const close = toTicks(logPrice);
      const high = Math.max(open, close, toTicks(Math.max(logOpen, logPrice) + 0.6 * BAR_VOLATILITY * Math.abs(random.normal())));
      const low = Math.min(open, close, toTicks(Math.min(logOpen, logPrice) - 0.6 * BAR_VOLATILITY * Math.abs(random.normal())));
      // Busier at the open and the close of the session.
      const edge = (i - (bars.length - 1) / 2) / ((bars.length - 1) / 2);
      const volume = Math.round(600 * Math.exp(0.5 * random.normal()) * (1 + 0.8 * edge * edge));
      // Randomness is drawn before skipping, so a planted gap leaves the rest of the series unchanged.
      if (gaps.has(bars[i]!)) continue;
      yield { time: bars[i]!, open, high, low, close, volume };
    }
  }
}

/** Integer ten-thousandths as a 4-decimal string: 42001234 -> '4200.1234'. */
export function formatTicks(ticks: number): string {
  return `${Math.floor(ticks / 10_000)}.${String(ticks % 10_000).padStart(4, '0')}`;
}

let sessions: number[][] | undefined;

/** Every session's bar instants, computed once: all symbols share the calendar. */
function sessionGrid(): number[][] {
  sessions ??= Array.from(tradingDays(COLOMBIA_FX, OHLCV_FIRST_DAY, OHLCV_LAST_DAY), (day) => COLOMBIA_FX.sessionBars(day));
  return sessions;
}

function toTicks(logPrice: number): number {
  return Math.round(Math.exp(logPrice) * 10_000);
}

function reflect(logPrice: number): number {
  if (logPrice > LOG_CEILING) return 2 * LOG_CEILING - logPrice;
  if (logPrice < LOG_FLOOR) return 2 * LOG_FLOOR - logPrice;
  return logPrice;
}

function bogotaInstant(day: string, time: string): number {
  return DateTime.fromISO(`${day}T${time}`, { zone: COLOMBIA_FX.zone }).toMillis();
}
