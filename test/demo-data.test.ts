import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { loadDemoData, type DemoDataCounts } from '../src/db/demo-data.js';
import { OHLCV_FIRST_DAY, OHLCV_LAST_DAY, PLANTED_GAPS, plantedGapBars } from '../src/db/demo/ohlcv.js';
import { COLOMBIA_FX } from '../src/domain/calendar.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';

/** Row counts of the production tables (seed 002). */
const SPEC = { ohlcv: 91_157, macro: 10_759, trades: 636 };

const expectedBars = [
  ...COLOMBIA_FX.expectedBars(Date.parse(`${OHLCV_FIRST_DAY}T00:00:00-05:00`), Date.parse(`${OHLCV_LAST_DAY}T23:59:59-05:00`)),
];
const gapBars = plantedGapBars();

describe('demo data', () => {
  let db: FreshDatabase;
  let client: pg.Client;
  let counts: DemoDataCounts;

  before(async () => {
    db = await freshDatabase('demo_data');
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    counts = await loadDemoData(db.url, { scale: 1, seed: 42 });
  });
  after(async () => {
    await client?.end();
    await db?.drop();
  });

  const one = async <T>(sql: string, params: unknown[] = []): Promise<T> => (await client.query(sql, params)).rows[0] as T;
  const fingerprints = () =>
    one<Record<string, string>>(`select
      (select md5(string_agg(t::text, '|' order by symbol, time)) from usdcop_m5_ohlcv t) as ohlcv,
      (select md5(string_agg(t::text, '|' order by date)) from macro_indicators_daily t) as macro,
      (select md5(string_agg(t::text, '|' order by id)) from trades_history t) as trades`);

  test('scale 1 has the calendar bars minus the planted gaps, close to the production sizes', async () => {
    assert.equal(gapBars.size, 41);
    assert.equal(counts.ohlcv, expectedBars.length - gapBars.size);
    assert.equal(counts.ohlcv, 88_699);
    // Production has bars on some Colombian holidays; the demo follows the calendar strictly.
    assert.ok(Math.abs(counts.ohlcv / SPEC.ohlcv - 1) < 0.03, `${counts.ohlcv} vs ${SPEC.ohlcv}`);
    assert.equal(counts.macro, 10_771);
    assert.ok(Math.abs(counts.macro / SPEC.macro - 1) < 0.01, `${counts.macro} vs ${SPEC.macro}`);
    assert.equal(counts.trades, SPEC.trades);

    const tables = await one<Record<string, number>>(`select
      (select count(*)::int from usdcop_m5_ohlcv) as ohlcv,
      (select count(*)::int from macro_indicators_daily) as macro,
      (select count(*)::int from trades_history) as trades`);
    assert.deepEqual(tables, { ohlcv: counts.ohlcv, macro: counts.macro, trades: counts.trades });
  });

  test('the bars are exactly the expected session bars except the planted gaps', async () => {
    const { rows } = await client.query<{ ms: string }>(`select (extract(epoch from time) * 1000)::bigint as ms from usdcop_m5_ohlcv order by time`);
    const present = rows.map((r) => Number(r.ms));
    assert.deepEqual(present, expectedBars.filter((bar) => !gapBars.has(bar)));
    for (const gap of PLANTED_GAPS) assert.equal(COLOMBIA_FX.isTradingDay(gap.day), true, gap.day);
  });

  test('every bar is on a weekday, non-holiday, inside 08:00-12:55 Bogota', async () => {
    const session = await one<Record<string, unknown>>(`select
      min((time at time zone 'America/Bogota')::time)::text as first,
      max((time at time zone 'America/Bogota')::time)::text as last,
      count(*) filter (where extract(isodow from time at time zone 'America/Bogota') > 5)::int as weekend,
      count(*) filter (where extract(minute from time)::int % 5 <> 0 or extract(second from time) <> 0)::int as off_grid
      from usdcop_m5_ohlcv`);
    assert.deepEqual(session, { first: '08:00:00', last: '12:55:00', weekend: 0, off_grid: 0 });

    const { rows } = await client.query<{ day: string }>(
      `select distinct to_char(time at time zone 'America/Bogota', 'YYYY-MM-DD') as day from usdcop_m5_ohlcv order by 1`,
    );
    const days = rows.map((r) => r.day);
    assert.deepEqual(days.filter((day) => !COLOMBIA_FX.isTradingDay(day)), []);
    for (const holiday of ['2025-12-25', '2026-01-01', '2025-04-17', '2025-04-18', '2024-03-28']) assert.ok(!days.includes(holiday), holiday);
    assert.equal(days[0], OHLCV_FIRST_DAY);
    assert.equal(days.at(-1), OHLCV_LAST_DAY);
  });

  test('OHLC values are valid and plausible USD/COP prices', async () => {
    const check = await one<Record<string, unknown>>(`select
      count(*) filter (where not (high >= low and open between low and high and close between low and high and low > 0))::int as invalid,
      min(low)::float > 3000 and max(high)::float < 5500 as plausible,
      count(distinct symbol)::int as symbols,
      min(volume) >= 0 as volumes
      from usdcop_m5_ohlcv`);
    assert.deepEqual(check, { invalid: 0, plausible: true, symbols: 1, volumes: true });
  });

  test('macro covers 1954-07-31..2026-01-22 and series start NULL', async () => {
    const macro = await one<Record<string, unknown>>(`select min(date)::text as first, max(date)::text as last,
      bool_and(vix is null) filter (where date < '1990-01-01') as no_early_vix,
      bool_and(ibr_overnight is not null) filter (where date >= '2008-01-02') as ibr_since_2008,
      bool_and(fed_funds is not null) as fed_funds_throughout
      from macro_indicators_daily`);
    assert.deepEqual(macro, { first: '1954-07-31', last: '2026-01-22', no_early_vix: true, ibr_since_2008: true, fed_funds_throughout: true });
  });

  test('trades price at bar closes; the newest positions are open', async () => {
    const trades = await one<Record<string, unknown>>(`select
      count(*) filter (where closed_at is null)::int as open,
      bool_and(pnl is null) filter (where closed_at is null) as open_without_pnl,
      count(*) filter (where not exists (
        select 1 from usdcop_m5_ohlcv b where b.symbol = t.symbol and b.time = t.opened_at - interval '5 minutes' and b.close = t.price))::int as off_bar,
      count(distinct trade_id)::int as ids
      from trades_history t`);
    assert.deepEqual(trades, { open: 3, open_without_pnl: true, off_bar: 0, ids: 636 });
  });

  test('the same seed gives identical tables, another seed different ones', async () => {
    const first = await fingerprints();
    await loadDemoData(db.url, { scale: 1, seed: 42 });
    assert.deepEqual(await fingerprints(), first);

    await loadDemoData(db.url, { seed: 7 });
    const other = await fingerprints();
    assert.notEqual(other.ohlcv, first.ohlcv);
    assert.notEqual(other.macro, first.macro);
    assert.notEqual(other.trades, first.trades);
  });

  test('scale 2 adds a synthetic symbol on the same calendar and keeps USD/COP unchanged', async () => {
    await loadDemoData(db.url, { scale: 1, seed: 42 });
    const usdcop = `select md5(string_agg(t::text, '|' order by time)) as h from usdcop_m5_ohlcv t where symbol = 'USD/COP'`;
    const before = await one<{ h: string }>(usdcop);

    const progress: string[] = [];
    const scaled = await loadDemoData(db.url, { scale: 2, seed: 42, onProgress: (table) => progress.push(table) });
    assert.deepEqual(scaled, { ohlcv: 2 * counts.ohlcv, macro: counts.macro, trades: 2 * counts.trades });
    assert.deepEqual(await one(usdcop), before);
    const { rows } = await client.query(`select symbol, count(*)::int as bars from usdcop_m5_ohlcv group by 1 order by 1`);
    assert.deepEqual(rows, [
      { symbol: 'SYM002', bars: counts.ohlcv },
      { symbol: 'USD/COP', bars: counts.ohlcv },
    ]);
    assert.ok(progress.includes('usdcop_m5_ohlcv') && progress.includes('macro_indicators_daily') && progress.includes('trades_history'));
  });

  test('bad options are input errors', async () => {
    await assert.rejects(loadDemoData(db.url, { scale: 0 }), { name: 'InputError' });
    await assert.rejects(loadDemoData(db.url, { scale: 1001 }), { name: 'InputError' });
    await assert.rejects(loadDemoData(db.url, { seed: -1 }), { name: 'InputError' });
  });
});
