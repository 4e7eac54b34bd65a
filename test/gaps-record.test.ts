import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { CLI } from '../bench/support.js';
import { createPool } from '../src/db/pool.js';
import { connectClient } from '../src/temporal/connection.js';
import { insertSessionBars, lastTradingDays } from './support/bars.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { execFileAsync } from './support/snapshot.js';
import { createBucket, testConfig, uniqueName, withWorker } from './support/stack.js';

const SYMBOL = 'GAP/COP';
const DAY_MS = 86_400_000;
const bogota = (day: string, time: string) => new Date(`${day}T${time}:00-05:00`);

describe('recorded gaps: gaps --record, the health check, gaps --patterns', () => {
  let db: FreshDatabase;
  let sql: pg.Pool;
  let env: Record<string, string>;
  before(async () => {
    db = await freshDatabase('gaps_record');
    sql = createPool(db.url, 2);
    const bucket = uniqueName('gaps-record');
    await createBucket(bucket);
    env = { DATABASE_URL: db.url, S3_BUCKET: bucket, SEEDVAULT_TASK_QUEUE: uniqueName('gaps-record'), SEEDVAULT_NO_LOCAL_STACK: '1', SEEDVAULT_LOG_LEVEL: 'warn' };
  });
  after(async () => {
    await sql?.end();
    await db?.drop();
  });

  const cli = (...args: string[]) => execFileAsync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
  const cliError = (...args: string[]) => cli(...args).then(() => null, (e: { code: number; stderr: string }) => e);
  const deleteBars = (from: Date, to: Date, symbol = SYMBOL) => sql.query(`delete from usdcop_m5_ohlcv where symbol = $1 and time between $2 and $3`, [symbol, from, to]);
  const recorded = async (symbol = SYMBOL) =>
    (
      await sql.query<{ gap_start: Date; gap_end: Date; gap_type: string; impact_score: string; fill_status: string; missing_points: number; severity: string }>(
        `select gap_start, gap_end, gap_type, impact_score, fill_status, missing_points, severity from data_gaps where symbol = $1 order by gap_start`,
        [symbol],
      )
    ).rows;
  const RANGE = ['--symbol', SYMBOL, '--from', '2026-01-02', '--to', '2026-01-14'];

  test('gaps --record upserts closed gaps once with type and impact; the open gap at the end is shown, not recorded; read-only by default', async () => {
    // Friday 2, Monday 5 to Friday 9 January and Tuesday 13 (Monday 12 is a Colombian holiday).
    await insertSessionBars(sql, SYMBOL, ['2026-01-02', '2026-01-05', '2026-01-06', '2026-01-07', '2026-01-08', '2026-01-09', '2026-01-13']);
    await deleteBars(bogota('2026-01-05', '08:00'), bogota('2026-01-05', '08:25')); // open of session, 6 bars
    await deleteBars(bogota('2026-01-06', '10:00'), bogota('2026-01-06', '10:10')); // intraday, 3 bars
    await deleteBars(bogota('2026-01-06', '12:45'), bogota('2026-01-06', '12:55')); // close of session, 3 bars
    await deleteBars(bogota('2026-01-07', '12:30'), bogota('2026-01-08', '08:10')); // multi-day, 6 + 3 bars
    await deleteBars(bogota('2026-01-09', '00:00'), bogota('2026-01-09', '23:59')); // whole day, 60 bars
    await deleteBars(bogota('2026-01-13', '12:00'), bogota('2026-01-13', '12:55')); // runs to the end of the range: still open

    const [readOnly] = JSON.parse((await cli('gaps', ...RANGE, '--json')).stdout);
    assert.equal(readOnly.recorded, undefined);
    assert.deepEqual(await recorded(), [], 'no --record: nothing written');
    const types = readOnly.gaps.map((g: { type: string; closed: boolean; minutes: number }) => [g.type, g.closed, g.minutes]);
    assert.deepEqual(types, [
      ['open-of-session', true, 30],
      ['intraday', true, 15],
      ['close-of-session', true, 15],
      ['multi-day', true, 45],
      ['whole-day', true, 300],
      ['close-of-session', false, 60],
    ]);
    const asOf = Date.parse('2026-01-14T00:00:00Z');
    for (const g of readOnly.gaps as { last_bar: string; minutes: number; impact_score: number }[]) {
      const expected = g.minutes * 0.5 ** ((asOf - Date.parse(g.last_bar)) / DAY_MS / 7);
      assert.ok(Math.abs(g.impact_score - expected) < 0.01, `impact ${g.impact_score} of ${g.last_bar} ~ ${expected}`);
    }

    const first = JSON.parse((await cli('gaps', ...RANGE, '--record', '--json')).stdout)[0];
    assert.deepEqual(first.recorded, { inserted: 5, updated: 0 });
    const second = JSON.parse((await cli('gaps', ...RANGE, '--record', '--json')).stdout)[0];
    assert.deepEqual(second.recorded, { inserted: 0, updated: 5 });
    const rows = await recorded();
    assert.deepEqual(
      rows.map((r) => [r.gap_start.toISOString(), r.gap_type, r.missing_points, r.fill_status]),
      readOnly.gaps.slice(0, 5).map((g: { start: string; type: string; bars: number }) => [g.start, g.type, g.bars, 'detected']),
    );
    assert.deepEqual(rows.map((r) => Number(r.impact_score)), readOnly.gaps.slice(0, 5).map((g: { impact_score: number }) => g.impact_score));
    assert.equal(rows[4]!.severity, 'CRITICAL');

    // A gap the backfill is filling keeps its status; one marked filled but missing again is detected anew.
    await sql.query(`update data_gaps set fill_status = 'filling' where gap_type = 'intraday'`);
    await sql.query(`update data_gaps set fill_status = 'filled', resolved_at = now() where gap_type = 'whole-day'`);
    await cli('gaps', ...RANGE, '--record');
    const statuses = Object.fromEntries((await recorded()).map((r) => [r.gap_type, r.fill_status]));
    assert.equal(statuses.intraday, 'filling');
    assert.equal(statuses['whole-day'], 'detected');
    assert.equal((await sql.query(`select count(*)::int as n from data_gaps where resolved_at is not null`)).rows[0].n, 0);
  });

  test('gaps --patterns analyses the recorded gaps by weekday, hour (Bogota), type and week', async () => {
    // The lookback counts back from now: reach the recorded week of January 2026 and no further.
    const lookback = Math.ceil((Date.now() - Date.parse('2026-01-05T00:00:00-05:00')) / DAY_MS);
    const [p] = JSON.parse((await cli('gaps', '--patterns', '--symbol', SYMBOL, '--lookback-days', String(lookback), '--json')).stdout);
    assert.equal(p.zone, 'America/Bogota');
    assert.equal(p.gaps, 5);
    assert.equal(p.minutes, 30 + 15 + 15 + 45 + 300);
    assert.deepEqual(
      Object.fromEntries(Object.entries(p.byType as Record<string, { gaps: number; minutes: number }>).map(([t, b]) => [t, [b.gaps, b.minutes]])),
      { 'open-of-session': [1, 30], 'close-of-session': [1, 15], intraday: [1, 15], 'whole-day': [1, 300], 'multi-day': [1, 45] },
    );
    assert.deepEqual(p.byWeekday.Monday, { gaps: 1, minutes: 30 });
    assert.deepEqual(p.byWeekday.Tuesday, { gaps: 2, minutes: 30 });
    assert.deepEqual(p.byWeekday.Wednesday, { gaps: 1, minutes: 30 });
    assert.deepEqual(p.byWeekday.Thursday, { gaps: 0, minutes: 15 });
    assert.deepEqual(p.byWeekday.Friday, { gaps: 1, minutes: 300 });
    assert.deepEqual(p.byHour['08'], { gaps: 2, minutes: 30 + 15 + 60 });
    assert.deepEqual(p.byHour['12'], { gaps: 2, minutes: 15 + 30 + 60 });
    const weeks = (p.byWeek as { week: string; gaps: number; minutes: number }[]).filter((w) => w.gaps > 0 || w.minutes > 0);
    assert.deepEqual(weeks, [{ week: '2026-01-05', gaps: 5, minutes: 405 }]);
    assert.ok(p.byWeek.length >= 40, 'every week of the lookback is listed');

    const human = (await cli('gaps', '--patterns', '--symbol', SYMBOL, '--lookback-days', String(lookback))).stdout;
    assert.match(human, /^GAP\/COP: 5 gaps, 405 business minutes missing .* in America\/Bogota\n/);
    const recent = JSON.parse((await cli('gaps', '--patterns', '--lookback-days', '30', '--json')).stdout);
    assert.deepEqual(recent, [], 'no symbol has gaps starting in the last 30 days');

    for (const args of [['--patterns', '--lookback-days', '0'], ['--patterns', '--lookback-days', 'ten'], ['--lookback-days', '7'], ['--patterns', '--record']]) {
      const err = await cliError('gaps', ...args);
      assert.equal(err?.code, 2, args.join(' '));
      assert.match(err.stderr, /^seedvault: .*(--lookback-days|--record).*\n$/, args.join(' '));
    }
  });

  test('the health check records the gaps of its lookback window once across runs', async () => {
    const symbol = 'HC/COP';
    const days = lastTradingDays(3, Date.now(), 1); // finished sessions only
    await insertSessionBars(sql, symbol, days);
    await deleteBars(bogota(days[1]!, '09:00'), bogota(days[1]!, '09:55'), symbol); // intraday, 12 bars
    await deleteBars(bogota(days[1]!, '12:30'), bogota(days[2]!, '08:20'), symbol); // multi-day, 6 + 5 bars
    const config = testConfig(env);
    const worker = await withWorker(config);
    const client = await connectClient(config);
    try {
      for (let run = 0; run < 2; run += 1) {
        const handle = await client.workflow.start('healthCheck', { taskQueue: config.temporal.task_queue, workflowId: uniqueName('health-gaps'), args: [{ verifySnapshot: false }] });
        await handle.result();
        const rows = await recorded(symbol);
        assert.deepEqual(rows.map((r) => [r.gap_start.getTime(), r.gap_type, r.missing_points, r.fill_status]), [
          [bogota(days[1]!, '09:00').getTime(), 'intraday', 12, 'detected'],
          [bogota(days[1]!, '12:30').getTime(), 'multi-day', 11, 'detected'],
        ], `run ${run + 1}`);
        for (const r of rows) assert.ok(Number(r.impact_score) > 0 && Number(r.impact_score) <= r.missing_points * 5, `impact ${r.impact_score}`);
      }
      const { rows } = await sql.query(`select detected_by from data_gaps where symbol = $1`, [symbol]);
      assert.deepEqual([...new Set(rows.map((r) => r.detected_by))], ['seedvault health']);
    } finally {
      await client.connection.close();
      await worker.stop();
    }
  });
});
