import type pg from 'pg';
import type { OhlcBar } from '../domain/bar-validation.js';

/** Where backfilled 5-minute bars go (seed 002's P0 table). */
export const OHLCV_TABLE = 'usdcop_m5_ohlcv';
export const BACKFILL_SOURCE = 'twelvedata';

/** Bar opens of a symbol in [fromMs, toMs), ascending, as epoch ms. */
export async function barTimes(pool: pg.Pool, symbol: string, fromMs: number, toMs: number): Promise<number[]> {
  const { rows } = await pool.query<{ t: string }>(
    `select (extract(epoch from time) * 1000)::bigint as t from ${OHLCV_TABLE}
     where symbol = $1 and time >= $2 and time < $3 order by time`,
    [symbol, new Date(fromMs), new Date(toMs)],
  );
  return rows.map((r) => Number(r.t));
}

export async function firstBarTime(pool: pg.Pool, symbol: string): Promise<number | null> {
  const { rows } = await pool.query<{ t: Date | null }>(`select min(time) as t from ${OHLCV_TABLE} where symbol = $1`, [symbol]);
  return rows[0]?.t ? rows[0].t.getTime() : null;
}

/** Inserts bars a symbol does not have yet; returns how many were new (a retry inserts 0). */
export async function insertBars(pool: pg.Pool, symbol: string, bars: OhlcBar[]): Promise<number> {
  if (bars.length === 0) return 0;
  const result = await pool.query(
    `insert into ${OHLCV_TABLE} (symbol, time, open, high, low, close, volume, source)
     select $1, t.time, t.open, t.high, t.low, t.close, t.volume, $8
     from unnest($2::timestamptz[], $3::numeric[], $4::numeric[], $5::numeric[], $6::numeric[], $7::bigint[])
       as t(time, open, high, low, close, volume)
     on conflict (symbol, time) do nothing`,
    [
      symbol,
      bars.map((b) => new Date(b.time)),
      bars.map((b) => b.open),
      bars.map((b) => b.high),
      bars.map((b) => b.low),
      bars.map((b) => b.close),
      bars.map((b) => b.volume),
      BACKFILL_SOURCE,
    ],
  );
  return result.rowCount ?? 0;
}
