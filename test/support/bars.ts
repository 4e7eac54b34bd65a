import type pg from 'pg';
import { COLOMBIA_FX } from '../../src/domain/calendar.js';

/** The last `count` trading days (Colombian FX) whose session opened before `now`, oldest first. */
export function lastTradingDays(count: number, now = Date.now(), skip = 0): string[] {
  const days: string[] = [];
  for (let t = now; days.length < count + skip; t -= 86_400_000) {
    const day = COLOMBIA_FX.localDay(t);
    const bars = COLOMBIA_FX.sessionBars(day);
    if (bars.length > 0 && bars[0]! < now && days.at(-1) !== day) days.push(day);
  }
  return days.slice(skip).reverse();
}

/** Inserts every session bar of the days (up to `until`) at a flat price, or the price `priceAt` gives. */
export async function insertSessionBars(
  pool: pg.Pool,
  symbol: string,
  days: string[],
  options: { until?: number; priceAt?: (t: number, i: number) => number; table?: string } = {},
): Promise<number[]> {
  const until = options.until ?? Date.now();
  const times = days.flatMap((d) => COLOMBIA_FX.sessionBars(d)).filter((t) => t <= until);
  const prices = times.map((t, i) => options.priceAt?.(t, i) ?? 4000);
  await pool.query(
    `insert into ${options.table ?? 'usdcop_m5_ohlcv'} (symbol, time, open, high, low, close, volume)
     select $1, t.time, t.p, t.p, t.p, t.p, 1 from unnest($2::timestamptz[], $3::numeric[]) as t(time, p)`,
    [symbol, times.map((t) => new Date(t)), prices],
  );
  return times;
}
