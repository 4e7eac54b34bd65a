import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createPool } from '../src/db/pool.js';
import { loadDemoData } from '../src/db/demo-data.js';
import { QUALITY_DEFAULTS } from '../src/domain/quality-settings.js';
import { detectAnomalies, findAnomalies } from '../src/quality/anomalies.js';
import { cleanupDuplicates } from '../src/quality/duplicates.js';
import { insertSessionBars } from './support/bars.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';

const bogota = (day: string, time: string) => Date.parse(`${day}T${time}:00-05:00`);

describe('data quality', () => {
  let db: FreshDatabase;
  let sql: pg.Pool;
  before(async () => {
    db = await freshDatabase('quality');
    sql = createPool(db.url, 3);
  });
  after(async () => {
    await sql?.end();
    await db?.drop();
  });

  test('crafted data: one gap, one outlier, one staleness; re-detection adds nothing', async () => {
    const symbol = 'QA/COP';
    const shift = bogota('2026-01-21', '10:00');
    // Mon-Tue 5-6 January, nothing until Tue 20 January (8 open days missing: > 24 h of open market),
    // then a 30 % level shift on the 21st at 10:00: one close-to-close move over 20 %.
    await insertSessionBars(sql, symbol, ['2026-01-05', '2026-01-06', '2026-01-20', '2026-01-21'], { priceAt: (t) => (t >= shift ? 5200 : 4000) });
    // A short hole inside a session and a weekend are not anomalies.
    await sql.query(`delete from usdcop_m5_ohlcv where symbol = $1 and time between $2 and $3`, [symbol, new Date(bogota('2026-01-06', '09:00')), new Date(bogota('2026-01-06', '10:00'))]);

    const first = await detectAnomalies(sql, { symbol, now: new Date(bogota('2026-02-10', '12:00')) });
    assert.deepEqual(first.found.map((a) => a.type).sort(), ['gap', 'outlier', 'staleness']);
    assert.equal(first.inserted, 3);
    const gap = first.found.find((a) => a.type === 'gap')!;
    assert.equal(gap.time, new Date(bogota('2026-01-06', '12:55')).toISOString());
    assert.equal(gap.details.last_bar, gap.time);
    assert.equal(gap.details.next_bar, new Date(bogota('2026-01-20', '08:00')).toISOString());
    const outlier = first.found.find((a) => a.type === 'outlier')!;
    assert.equal(outlier.time, new Date(shift).toISOString());
    assert.equal(outlier.details.move_pct, 30);
    const stale = first.found.find((a) => a.type === 'staleness')!;
    assert.equal(stale.time, new Date(bogota('2026-01-21', '12:55')).toISOString());

    const again = await detectAnomalies(sql, { symbol, now: new Date(bogota('2026-02-11', '12:00')) });
    assert.equal(again.found.length, 3);
    assert.equal(again.inserted, 0);
    const { rows } = await sql.query(`select anomaly_type, severity from data_anomalies where symbol = $1 order by anomaly_type`, [symbol]);
    assert.deepEqual(rows.map((r) => r.anomaly_type), ['gap', 'outlier', 'staleness']);

    // Not stale the day after the last bar: a weekend and a night are not open market.
    const fresh = await detectAnomalies(sql, { symbol, now: new Date(bogota('2026-01-22', '07:00')) });
    assert.deepEqual(fresh.found.map((a) => a.type).sort(), ['gap', 'outlier']);

    // The config's quality thresholds move the lines: a 30 % move under a 40 % limit, an 8-day hole under 60 h.
    const lenient = { ...QUALITY_DEFAULTS, anomaly_outlier_pct: 40, anomaly_gap_market_hours: 60, anomaly_stale_market_hours: 200 };
    const relaxed = await findAnomalies(sql, { symbol, now: new Date(bogota('2026-02-10', '12:00')), settings: lenient });
    assert.deepEqual(relaxed, []);
  });

  test('clean demo data has no anomalies', async () => {
    const demo = await freshDatabase('quality_demo');
    const pool = createPool(demo.url, 2);
    try {
      await loadDemoData(demo.url, {});
      const last = (await pool.query<{ t: Date }>(`select max(time) as t from usdcop_m5_ohlcv where symbol = 'USD/COP'`)).rows[0]!.t;
      const result = await detectAnomalies(pool, { symbol: 'USD/COP', now: new Date(last.getTime() + 3_600_000) });
      assert.deepEqual(result.found, []);
      assert.equal((await pool.query(`select count(*)::int as n from data_anomalies`)).rows[0].n, 0);
    } finally {
      await pool.end();
      await demo.drop();
    }
  });

  test('duplicate cleanup on a table without UNIQUE(symbol, time): dry run counts, the real run keeps the newest copy', async () => {
    await sql.query(`create table scratch_bars (like usdcop_m5_ohlcv including defaults)`);
    const symbol = 'DUP/COP';
    const times = await insertSessionBars(sql, symbol, ['2026-01-05'], { table: 'scratch_bars' });
    await insertSessionBars(sql, 'OTHER/COP', ['2026-01-05'], { table: 'scratch_bars' });
    // Two extra copies of the first bar (the newest with close 4001), one of the second; OTHER/COP's copy stays.
    const copy = (t: number, close: number, age: string) =>
      sql.query(`insert into scratch_bars (symbol, time, open, high, low, close, volume, created_at) values ($1, $2, 4000, 4001, 4000, $3, 1, now() - $4::interval)`, [symbol, new Date(t), close, age]);
    await sql.query(`update scratch_bars set created_at = now() - interval '1 day'`);
    await copy(times[0]!, 4000, '2 hours');
    await copy(times[0]!, 4001, '0 seconds');
    await copy(times[1]!, 4000, '3 hours');
    await sql.query(`insert into scratch_bars (symbol, time, open, high, low, close) values ('OTHER/COP', $1, 1, 1, 1, 1)`, [new Date(times[0]!)]);
    const count = async () => (await sql.query(`select count(*)::int as n from scratch_bars where symbol = $1`, [symbol])).rows[0].n as number;
    assert.equal(await count(), 63);

    const dry = await cleanupDuplicates(sql, { symbol, dryRun: true, table: 'scratch_bars' });
    assert.equal(dry.removed, 3);
    assert.deepEqual(dry.groups.map((g) => [g.copies, g.removed]), [[3, 2], [2, 1]]);
    assert.equal(await count(), 63, 'a dry run changes nothing');
    const dryLog = await sql.query(`select time, duplicates_removed, dry_run from duplicate_records_log where symbol = $1 order by time nulls last`, [symbol]);
    assert.deepEqual(dryLog.rows.map((r) => [r.duplicates_removed, r.dry_run]), [[2, true], [1, true], [3, true]]);

    const real = await cleanupDuplicates(sql, { symbol, dryRun: false, table: 'scratch_bars' });
    assert.equal(real.removed, 3);
    assert.match(real.keptRule, /newest created_at/);
    assert.equal(await count(), 60);
    const kept = await sql.query(`select close::float8 as close from scratch_bars where symbol = $1 and time = $2`, [symbol, new Date(times[0]!)]);
    assert.deepEqual(kept.rows, [{ close: 4001 }]);
    assert.equal((await sql.query(`select count(*)::int as n from scratch_bars where symbol = 'OTHER/COP'`)).rows[0].n, 61);
    const log = await sql.query(`select count(*)::int as n, sum(duplicates_removed)::int as removed from duplicate_records_log where symbol = $1 and not dry_run and time is not null`, [symbol]);
    assert.deepEqual(log.rows[0], { n: 2, removed: 3 });

    const none = await cleanupDuplicates(sql, { symbol, dryRun: false, table: 'scratch_bars' });
    assert.equal(none.removed, 0);
    // The live table cannot hold duplicates; the cleanup finds none there.
    assert.equal((await cleanupDuplicates(sql, { symbol: 'QA/COP', dryRun: true })).removed, 0);
  });
});
