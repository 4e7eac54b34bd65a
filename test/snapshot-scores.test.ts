/**
 * backup_metadata scores are computed: the bars' completeness against each symbol's market
 * calendar and a quality score discounting anomalous bars, checked against an independent
 * count; the coverage the export derives from the rows it streams equals SQL's aggregates.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadDemoData } from '../src/db/demo-data.js';
import { createPool } from '../src/db/pool.js';
import { COLOMBIA_FX, CRYPTO_24X7 } from '../src/domain/calendar.js';
import type { BarCoverage } from '../src/domain/coverage.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { runSnapshot, versionsOf } from './support/snapshot.js';
import { createBucket, testConfig, uniqueName, withWorker } from './support/stack.js';

const ANOMALOUS_BARS = 300;

describe('backup_metadata scores of a snapshot', () => {
  let db: FreshDatabase;
  let sql: ReturnType<typeof createPool>;
  const [version] = versionsOf(['04.01']) as [string];
  let coverage: BarCoverage | undefined;
  const calendarOf = (symbol: string) => (symbol === 'SYM002' ? CRYPTO_24X7 : COLOMBIA_FX);

  before(async () => {
    db = await freshDatabase('snapshot_scores');
    // Two symbols on different calendars, the second starting later and ending earlier than the first.
    await loadDemoData(db.url, { scale: 2 });
    sql = createPool(db.url, 2);
    await sql.query(`delete from usdcop_m5_ohlcv where symbol = 'SYM002' and (time < (select min(time) + interval '20 days' from usdcop_m5_ohlcv)
                       or time > (select max(time) - interval '3 days' from usdcop_m5_ohlcv))`);
    const bucket = uniqueName('scores');
    await createBucket(bucket);
    // 300 anomalous bars inside the data (one of them logged twice, by type), one outside it.
    await sql.query(`insert into data_anomalies (symbol, anomaly_type, severity, anomaly_time)
      select symbol, 'outlier', 'HIGH', time from usdcop_m5_ohlcv order by symbol, time offset 100 limit ${ANOMALOUS_BARS}`);
    await sql.query(`insert into data_anomalies (symbol, anomaly_type, severity, anomaly_time)
      select symbol, 'staleness', 'HIGH', anomaly_time from data_anomalies order by anomaly_time limit 1`);
    await sql.query(`insert into data_anomalies (symbol, anomaly_type, severity, anomaly_time) values ('USD/COP', 'outlier', 'LOW', '1999-01-04 13:00Z')`);
    const config = testConfig({ DATABASE_URL: db.url, S3_BUCKET: bucket, SEEDVAULT_TASK_QUEUE: uniqueName('scores') });
    config.backfill.symbol_calendars = { SYM002: CRYPTO_24X7.name };
    const worker = await withWorker(config);
    try {
      coverage = (await runSnapshot(config, { version })).manifest.tables.usdcop_m5_ohlcv?.coverage;
    } finally {
      await worker.stop();
    }
  });
  after(async () => {
    await sql?.end();
    await db?.drop();
  });

  test('the bars: completeness is present over calendar-expected bars per symbol; quality also discounts anomalous bars', async () => {
    const spans = (await sql.query<{ symbol: string; first: Date; last: Date; bars: number }>(
      'select symbol, min(time) as first, max(time) as last, count(*)::int as bars from usdcop_m5_ohlcv group by symbol',
    )).rows;
    assert.equal(spans.length, 2);
    // Independently: enumerate every expected bar open between each symbol's first and last bar, on its calendar.
    const expected = spans.reduce((sum, s) => sum + [...calendarOf(s.symbol).expectedBars(s.first.getTime(), s.last.getTime() + 1)].length, 0);
    const present = spans.reduce((sum, s) => sum + s.bars, 0);
    assert.ok(present < expected, 'the demo data has gaps');
    assert.deepEqual(coverage, { symbols: 2, expected_bars: expected, present_bars: present, completeness_pct: Math.floor((10_000 * present) / expected) / 100 }, 'the manifest');
    const { rows } = await sql.query<{ completeness: number; quality: number; coverage: { expected_bars: number } }>(
      `select completeness_pct::float8 as completeness, quality_score::float8 as quality, metadata->'coverage' as coverage
       from backup_metadata where snapshot_version = $1 and table_name = 'usdcop_m5_ohlcv'`,
      [version],
    );
    const row = rows[0]!;
    assert.equal(row.coverage.expected_bars, expected);
    assert.equal(row.completeness, Math.floor((10_000 * present) / expected) / 100);
    assert.equal(row.quality, Math.floor((10_000 * (present - ANOMALOUS_BARS)) / expected) / 100, 'distinct anomalous bars in range');
    assert.ok(row.quality < row.completeness);
  });

  test('the other tables: complete by construction, no quality score', async () => {
    const { rows } = await sql.query<{ table_name: string; completeness: number; quality: number | null }>(
      `select table_name, completeness_pct::float8 as completeness, quality_score::float8 as quality
       from backup_metadata where snapshot_version = $1 and table_name <> 'usdcop_m5_ohlcv' order by table_name`,
      [version],
    );
    assert.deepEqual(rows, [
      { table_name: 'macro_indicators_daily', completeness: 100, quality: null },
      { table_name: 'trades_history', completeness: 100, quality: null },
    ]);
  });
});
