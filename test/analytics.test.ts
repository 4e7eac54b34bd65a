/**
 * Seed 001's analytics views and functions (migration 009) over the demo data, each checked
 * against figures the test computes itself from the demo generator's bars (not from SQL), and
 * the hourly refresh: concurrent (a reader is never blocked), its schedule made by setup.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { DateTime } from 'luxon';
import pg from 'pg';
import { CLI } from '../bench/support.js';
import type { ViewRefresh } from '../src/analytics/refresh.js';
import { DEFAULT_DEMO_SEED, loadDemoData } from '../src/db/demo-data.js';
import { MIGRATIONS_DIR } from '../src/db/migrate.js';
import { BAR_MS, barSeries, demoSymbols, formatTicks, type DemoBar } from '../src/db/demo/ohlcv.js';
import { BAR_MINUTES, SessionCalendar } from '../src/domain/calendar.js';
import { renameSwapBlocker } from '../src/restore/rename-swap.js';
import { connectClient } from '../src/temporal/connection.js';
import { ANALYTICS_REFRESH_SCHEDULE_ID } from '../src/temporal/analytics-schedule.js';
import type { AnalyticsRefreshResult } from '../src/workflows/analytics-refresh.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { freshDeployment } from './support/deploy.js';
import { runProcess } from './support/process.js';
import { holdLock, sql, waitForSql } from './support/restore.js';
import { testConfig, uniqueName, withWorker } from './support/stack.js';
import type { RunningWorker } from '../src/worker.js';
import type { SeedvaultConfig } from '../src/config/schema.js';

const ZONE = 'America/Bogota';
const VIEWS = ['daily_ohlc_summary', 'hourly_trading_metrics', 'api_usage_efficiency'];
/** The session as the SQL knows it: weekdays, no holiday calendar. */
const WEEKDAY_SESSION = new SessionCalendar({ name: 'weekday-session', zone: ZONE, firstBar: '08:00', lastBar: '12:55', barMinutes: BAR_MINUTES, weekdays: [1, 2, 3, 4, 5], isHoliday: () => false });
/** Planted gaps (a few bars, a lost afternoon, one bar), a full day, the last day. */
const SAMPLE_DAYS = ['2021-03-15', '2023-01-10', '2024-11-29', '2025-08-12', '2026-01-15'];
const SYMBOLS = demoSymbols(2);

const bogotaDay = (t: number) => DateTime.fromMillis(t, { zone: ZONE }).toISODate()!;
const bogota = (day: string, time: string) => DateTime.fromISO(`${day}T${time}`, { zone: ZONE }).toMillis();
const iso = (t: number) => new Date(t).toISOString();
const round2 = (x: number) => Math.round(x * 100) / 100;
const percent = (part: number, whole: number) => round2((100 * part) / whole);

/** The OHLC figures of a group of bars in time order, as PostgreSQL prints the numerics. */
function ohlc(bars: DemoBar[]) {
  return {
    open: formatTicks(bars[0]!.open),
    high: formatTicks(Math.max(...bars.map((b) => b.high))),
    low: formatTicks(Math.min(...bars.map((b) => b.low))),
    close: formatTicks(bars.at(-1)!.close),
    volume: String(bars.reduce((sum, b) => sum + b.volume, 0)),
  };
}

function groupBy(bars: DemoBar[], key: (b: DemoBar) => string): Map<string, DemoBar[]> {
  const groups = new Map<string, DemoBar[]>();
  for (const bar of bars) {
    const k = key(bar);
    groups.set(k, [...(groups.get(k) ?? []), bar]);
  }
  return groups;
}

describe('analytics views and functions (migration 009)', () => {
  let db: FreshDatabase;
  let config: SeedvaultConfig;
  let worker: RunningWorker;
  let client: Client;
  let env: Record<string, string>;
  const bars = new Map<string, DemoBar[]>();
  const byDay = new Map<string, Map<string, DemoBar[]>>();

  const refresh = async (): Promise<ViewRefresh[]> =>
    (await client.workflow.execute('analyticsRefresh', { taskQueue: config.temporal.task_queue, workflowId: uniqueName('analytics-refresh'), args: [{}] }) as AnalyticsRefreshResult).views;
  const query = async (text: string, values: unknown[] = []) => (await sql(db.url, text, values)).rows;

  before(async () => {
    db = await freshDatabase('analytics');
    await loadDemoData(db.url, { scale: SYMBOLS.length });
    for (const symbol of SYMBOLS) {
      bars.set(symbol, [...barSeries(symbol, DEFAULT_DEMO_SEED)]);
      byDay.set(symbol, groupBy(bars.get(symbol)!, (b) => bogotaDay(b.time)));
    }
    env = { DATABASE_URL: db.url, SEEDVAULT_TASK_QUEUE: uniqueName('analytics') };
    config = testConfig(env);
    worker = await withWorker(config);
    client = await connectClient(config);
  });
  after(async () => {
    await client?.connection.close();
    await worker?.stop();
    await db?.drop();
  });

  test('the views depend on no bars table: a restore can still swap usdcop_m5_ohlcv in by rename', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      assert.equal(await renameSwapBlocker(client, 'usdcop_m5_ohlcv'), null);
      assert.equal(await renameSwapBlocker(client, 'provider_rate_budget'), null);
    } finally {
      await client.end();
    }
  });

  test('the first refresh fills the never-populated views; later ones are concurrent', async () => {
    const populated = async () => (await query(`select relname, relispopulated from pg_class where relname = any($1) order by relname`, [VIEWS])).map((r) => [r.relname, r.relispopulated]);
    assert.deepEqual(await populated(), [...VIEWS].sort().map((v) => [v, false]));
    await assert.rejects(query('select count(*) from daily_ohlc_summary'), /has not been populated/);

    const first = await refresh();
    assert.deepEqual(first.map((v) => [v.view, v.mode]), VIEWS.map((v) => [v, 'initial']));
    assert.deepEqual(await populated(), [...VIEWS].sort().map((v) => [v, true]));
    const days = SYMBOLS.reduce((n, s) => n + byDay.get(s)!.size, 0);
    assert.equal(first[0]!.rows, days, 'one daily row per symbol and trading day');

    const run = await runProcess([process.execPath, CLI, 'analytics', 'refresh', '--wait', '--json'], { env: { ...process.env, ...env } });
    assert.equal(run.code, 0, run.stderr);
    const again = JSON.parse(run.stdout) as AnalyticsRefreshResult;
    assert.deepEqual(again.views.map((v) => [v.view, v.mode, v.rows]), first.map((v) => [v.view, 'concurrent', v.rows]));

    const bad = await runProcess([process.execPath, CLI, 'analytics', 'refresh', '--now'], { env: { ...process.env, ...env } });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^[^\n]*'--now'[^\n]*\n$/, 'one line naming the flag');
  });

  test('daily_ohlc_summary: first open, last close, extremes, volume and completeness per symbol and Bogota day', async () => {
    const totals = await query(`select count(*)::int as days, sum(bar_count)::int as bars, sum(volume)::text as volume from daily_ohlc_summary`);
    const all = SYMBOLS.flatMap((s) => bars.get(s)!);
    assert.deepEqual(totals, [{ days: SYMBOLS.reduce((n, s) => n + byDay.get(s)!.size, 0), bars: all.length, volume: String(all.reduce((n, b) => n + b.volume, 0)) }]);

    const rows = await query(
      `select symbol, trading_date::text as day, open::text, high::text, low::text, close::text, volume::text, bar_count, session_bars,
              expected_bars, completeness_pct::float8 as completeness, first_bar_at, last_bar_at
       from daily_ohlc_summary where trading_date = any($1::date[]) order by symbol, trading_date`,
      [SAMPLE_DAYS],
    );
    const expected = [...SYMBOLS].sort().flatMap((symbol) =>
      SAMPLE_DAYS.map((day) => {
        const dayBars = byDay.get(symbol)!.get(day)!;
        const expectedBars = WEEKDAY_SESSION.sessionBars(day).length;
        return {
          symbol, day, ...ohlc(dayBars), bar_count: dayBars.length, session_bars: dayBars.length, expected_bars: expectedBars,
          completeness: percent(dayBars.length, expectedBars), first_bar_at: new Date(dayBars[0]!.time), last_bar_at: new Date(dayBars.at(-1)!.time),
        };
      }),
    );
    assert.deepEqual(rows, expected);
    // The planted gaps show: 3 bars lost on 2021-03-15, the afternoon of 2024-11-29.
    assert.deepEqual(rows.filter((r) => r.symbol === 'USD/COP').map((r) => r.completeness), [95, 100, 50, percent(59, 60), 100]);
  });

  test('hourly_trading_metrics: bars, OHLC, volume and bar ranges per symbol and UTC hour', async () => {
    const hourOf = (b: DemoBar) => String(Math.floor(b.time / 3_600_000) * 3_600_000);
    const [count] = await query(`select count(*)::int as n from hourly_trading_metrics`);
    assert.equal(count!.n, SYMBOLS.reduce((n, s) => n + groupBy(bars.get(s)!, hourOf).size, 0));

    const rows = await query(
      `select symbol, hour_start, bogota_hour, bar_count, open::text, high::text, low::text, close::text, volume::text,
              avg_bar_range::float8 as avg_range, max_bar_range::text as max_range
       from hourly_trading_metrics where (hour_start at time zone 'America/Bogota')::date = any($1::date[]) order by symbol, hour_start`,
      [SAMPLE_DAYS],
    );
    const expected = [...SYMBOLS].sort().flatMap((symbol) =>
      SAMPLE_DAYS.flatMap((day) =>
        [...groupBy(byDay.get(symbol)!.get(day)!, hourOf)].map(([hour, hourBars]) => ({
          symbol,
          hour_start: new Date(Number(hour)),
          bogota_hour: DateTime.fromMillis(Number(hour), { zone: ZONE }).hour,
          bar_count: hourBars.length,
          ...ohlc(hourBars),
          avg_range: Math.round(hourBars.reduce((n, b) => n + b.high - b.low, 0) / hourBars.length) / 10_000,
          max_range: formatTicks(Math.max(...hourBars.map((b) => b.high - b.low))),
        })),
      ),
    );
    assert.equal(rows.length, expected.length);
    for (const [i, row] of rows.entries()) {
      const want = expected[i]!;
      assert.ok(Math.abs(row.avg_range - want.avg_range) < 0.00015, `${want.symbol} ${iso(want.hour_start.getTime())}: average range ${row.avg_range} vs ${want.avg_range}`);
      assert.deepEqual({ ...row, avg_range: want.avg_range }, want);
    }
    // Half of the 2024-11-29 session is missing: no hour after 10:00 Bogota that day.
    assert.deepEqual(rows.filter((r) => r.symbol === 'USD/COP' && bogotaDay(r.hour_start.getTime()) === '2024-11-29').map((r) => [r.bogota_hour, r.bar_count]), [[8, 12], [9, 12], [10, 6]]);
  });

  test('get_trading_session_stats: one row per symbol for a session day, none at the weekend', async () => {
    for (const day of SAMPLE_DAYS) {
      const rows = await query(
        `select symbol, bars_expected, bars_received, completeness_pct::float8 as completeness, first_bar_at, last_bar_at, open::text, high::text,
                low::text, close::text, volume::text, price_change::float8 as change, price_change_pct::float8 as change_pct
         from get_trading_session_stats($1)`,
        [day],
      );
      assert.deepEqual(
        rows,
        [...SYMBOLS].sort().map((symbol) => {
          const dayBars = byDay.get(symbol)!.get(day)!;
          const change = dayBars.at(-1)!.close - dayBars[0]!.open;
          return {
            symbol, bars_expected: 60, bars_received: dayBars.length, completeness: percent(dayBars.length, 60),
            first_bar_at: new Date(dayBars[0]!.time), last_bar_at: new Date(dayBars.at(-1)!.time), ...ohlc(dayBars),
            change: change / 10_000, change_pct: Math.round((1_000_000 * change) / dayBars[0]!.open) / 10_000,
          };
        }),
        day,
      );
    }
    assert.deepEqual(await query(`select symbol, bars_received from get_trading_session_stats('2024-11-29', 'SYM002')`), [{ symbol: 'SYM002', bars_received: 30 }]);
    assert.deepEqual(await query(`select * from get_trading_session_stats('2024-11-30')`), [], 'a Saturday has no session');
  });

  test('calculate_data_completeness: every weekday per symbol, a Colombian holiday counted as missing', async () => {
    const [first, last] = ['2024-11-27', '2024-12-27'];
    const rows = await query(
      `select symbol, trading_date::text as day, expected_bars, actual_bars, missing_bars, completeness_pct::float8 as completeness
       from calculate_data_completeness($1, $2)`,
      [first, last],
    );
    const weekdays: string[] = [];
    for (let d = DateTime.fromISO(first); d.toISODate()! <= last; d = d.plus({ days: 1 })) if (d.weekday <= 5) weekdays.push(d.toISODate()!);
    const expected = [...SYMBOLS].sort().flatMap((symbol) =>
      weekdays.map((day) => {
        const actual = byDay.get(symbol)!.get(day)?.length ?? 0;
        return { symbol, day, expected_bars: 60, actual_bars: actual, missing_bars: 60 - actual, completeness: percent(actual, 60) };
      }),
    );
    assert.deepEqual(rows, expected);
    // The lost afternoon, and Christmas: the demo has no bars on Colombian holidays, the SQL no holiday calendar.
    assert.deepEqual(rows.filter((r) => r.symbol === 'USD/COP' && r.completeness < 100).map((r) => [r.day, r.actual_bars]), [['2024-11-29', 30], ['2024-12-25', 0]]);
    const one = await query(`select symbol, count(*)::int as days from calculate_data_completeness($1, $2, 'SYM002') group by symbol`, [first, last]);
    assert.deepEqual(one, [{ symbol: 'SYM002', days: weekdays.length }]);
    assert.deepEqual(await query(`select * from calculate_data_completeness('2024-12-02', '2024-12-01')`), [], 'an empty range');
  });

  test('check_realtime_data_quality: the closed session bars of the last minutes before as_of', async () => {
    const symbolBars = new Set(bars.get('USD/COP')!.map((b) => b.time));
    const cases = [
      { at: bogota('2024-11-29', '10:32'), minutes: 30, status: 'ok' },
      { at: bogota('2024-11-29', '10:47'), minutes: 30, status: 'degraded' },
      { at: bogota('2024-11-29', '11:02'), minutes: 30, status: 'stale' },
      { at: bogota('2024-11-29', '13:40'), minutes: 90, status: 'stale' },
      { at: bogota('2024-11-28', '12:59:30'), minutes: 120, status: 'ok' },
      { at: bogota('2024-11-30', '10:00'), minutes: 60, status: 'closed' },
    ];
    for (const c of cases) {
      const [row] = await query(`select * from check_realtime_data_quality($1, 'USD/COP', $2)`, [c.minutes, new Date(c.at)]);
      const end = Math.floor(c.at / BAR_MS) * BAR_MS;
      const due = [...WEEKDAY_SESSION.expectedBars(c.at - c.minutes * 60_000, end)];
      const received = due.filter((t) => symbolBars.has(t)).length;
      const lastBar = Math.max(...[...symbolBars].filter((t) => t <= c.at));
      assert.deepEqual(
        { ...row, window_start: iso(row.window_start), window_end: iso(row.window_end), last_bar_at: iso(row.last_bar_at), completeness_pct: row.completeness_pct && Number(row.completeness_pct), minutes_since_last_bar: Number(row.minutes_since_last_bar) },
        {
          symbol: 'USD/COP', window_start: iso(c.at - c.minutes * 60_000), window_end: iso(end), bars_expected: due.length, bars_received: received,
          missing_bars: due.length - received, completeness_pct: due.length ? percent(received, due.length) : null, zero_volume_bars: 0,
          last_bar_at: iso(lastBar), minutes_since_last_bar: Math.round((c.at - lastBar) / 6_000) / 10, quality_status: c.status,
        },
        iso(c.at),
      );
    }
    const [none] = await query(`select bars_expected, bars_received, last_bar_at, quality_status from check_realtime_data_quality(30, 'NO/SUCH', $1)`, [new Date(cases[0]!.at)]);
    assert.deepEqual(none, { bars_expected: 5, bars_received: 0, last_bar_at: null, quality_status: 'no_data' });
  });

  test('api_usage_efficiency: credits per provider and UTC day from provider_rate_budget, against the bars backfilled that day', async () => {
    const days = [
      { provider: 'https://api.one.test', day: '2026-11-30', minutes: [3, 4, 0], bars: 14 },
      { provider: 'https://api.two.test', day: '2026-12-01', minutes: [2], bars: 3 },
    ];
    for (const d of days) {
      const credits = d.minutes.reduce((n, m) => n + m, 0);
      await query(`insert into provider_rate_budget (provider, window_kind, window_start, used) values ($1, 'day', $2::date, $3)`, [d.provider, d.day, credits]);
      for (const [i, used] of d.minutes.entries()) {
        await query(`insert into provider_rate_budget (provider, window_kind, window_start, used) values ($1, 'minute', $2::date + interval '10 hours' + $3 * interval '1 minute', $4)`, [d.provider, d.day, i, used]);
      }
      // Backfilled bars ingested that day (source twelvedata); demo bars ingested the same day do not count.
      for (const source of ['twelvedata', 'demo']) {
        await query(
          `insert into usdcop_m5_ohlcv (symbol, time, open, high, low, close, volume, source, created_at)
           select $1, timestamptz '2030-01-01 13:00+00' + n * interval '5 minutes', 4000, 4000, 4000, 4000, 1, $2, $3::date + interval '10 hours 30 seconds'
           from generate_series(1, $4) n`,
          [`API/${source}/${d.day}`, source, d.day, d.bars],
        );
      }
    }
    await refresh();
    const rows = await query(
      `select provider, usage_day::text as day, credits_used, active_minutes, peak_minute_credits, credits_per_active_minute::float8 as per_minute,
              first_minute, last_minute, bars_backfilled, bars_per_credit::float8 as per_credit
       from api_usage_efficiency order by provider`,
    );
    assert.deepEqual(
      rows,
      days.map((d) => {
        const credits = d.minutes.reduce((n, m) => n + m, 0);
        const active = d.minutes.filter((m) => m > 0).length;
        const tenAm = Date.parse(`${d.day}T10:00:00Z`);
        return {
          provider: d.provider, day: d.day, credits_used: credits, active_minutes: active, peak_minute_credits: Math.max(...d.minutes),
          per_minute: round2(credits / active), first_minute: new Date(tenAm), last_minute: new Date(tenAm + (d.minutes.length - 1) * 60_000),
          bars_backfilled: d.bars, per_credit: round2(d.bars / credits),
        };
      }),
    );
    await query(`delete from usdcop_m5_ohlcv where symbol like 'API/%'`);
  });

  test('a concurrent refresh never blocks a reader, and a reader in an open transaction never blocks the refresh', async () => {
    const [{ n: before }] = (await query(`select count(*)::int as n from daily_ohlc_summary`)) as [{ n: number }];
    // The refresh takes its lock on the view, then waits to read the bars: it is held mid-refresh.
    const blocker = await holdLock(db.url, 'lock table usdcop_m5_ohlcv in access exclusive mode');
    const reader = new pg.Client({ connectionString: db.url });
    await reader.connect();
    try {
      await reader.query('begin');
      await reader.query('select count(*) from daily_ohlc_summary');
      const handle = await client.workflow.start('analyticsRefresh', { taskQueue: config.temporal.task_queue, workflowId: uniqueName('analytics-refresh'), args: [{}] });
      await waitForSql(
        db.url,
        `select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
         where not l.granted and a.datname = current_database() and a.query like 'refresh materialized view%daily_ohlc_summary%'`,
        [],
        'the refresh of daily_ohlc_summary waiting for a lock',
        30_000,
      );

      const read = reader.query<{ n: number }>('select count(*)::int as n from daily_ohlc_summary').then((r) => r.rows[0]!.n);
      assert.equal(await Promise.race([read, sleep(5_000, 'blocked')]), before, 'the reader gets the rows the view had before the refresh');
      const newReader = query('select count(*)::int as n from daily_ohlc_summary').then((r) => r[0].n);
      assert.equal(await Promise.race([newReader, sleep(5_000, 'blocked')]), before, 'a reader arriving mid-refresh is not queued behind it');

      await blocker.release();
      const done = await Promise.race([handle.result(), sleep(30_000, 'blocked')]);
      assert.notEqual(done, 'blocked', 'the refresh finished while the reader\'s transaction was still open');
      assert.deepEqual((done as AnalyticsRefreshResult).views.map((v) => v.mode), ['concurrent', 'concurrent', 'concurrent']);
      await reader.query('commit');
    } finally {
      await blocker.release();
      await reader.end();
    }
  });

  test('the down migration drops every view and function it created', async () => {
    const text = await readFile(join(MIGRATIONS_DIR, '009_analytics.sql'), 'utf8');
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const objects = async () =>
      (await client.query(`select relname as name from pg_class where relname = any($1) union all
                           select proname from pg_proc where proname like 'analytics\\_%' or proname = any($2) order by 1`,
        [VIEWS, ['get_trading_session_stats', 'check_realtime_data_quality', 'calculate_data_completeness']])).rows.map((r) => r.name);
    try {
      await client.query('begin');
      assert.equal((await objects()).length, VIEWS.length + 3 + 6);
      await client.query(text.slice(text.indexOf('-- Down Migration')));
      assert.deepEqual(await objects(), []);
    } finally {
      await client.query('rollback');
      await client.end();
    }
  });
});

describe('the analytics-refresh schedule', () => {
  test('setup creates it with the configured interval and deletes it when turned off', async () => {
    const deployment = await freshDeployment('analytics-setup');
    try {
      const client = await deployment.client();
      const setup = (extra: Record<string, string>) => runProcess([process.execPath, CLI, 'setup'], { env: { ...process.env, ...deployment.env, ...extra } });
      const created = await setup({ SEEDVAULT_ANALYTICS_REFRESH_MINUTES: '30' });
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /^schedules created: .*\banalytics-refresh\b/m);
      const schedule = await client.schedule.getHandle(ANALYTICS_REFRESH_SCHEDULE_ID).describe();
      assert.deepEqual(schedule.spec.intervals?.map((i) => i.every), [30 * 60_000]);
      assert.equal(schedule.action.type === 'startWorkflow' && schedule.action.workflowType, 'analyticsRefresh');
      assert.equal(schedule.action.type === 'startWorkflow' && schedule.action.taskQueue, deployment.config.temporal.task_queue);

      const off = await setup({ SEEDVAULT_ANALYTICS_REFRESH: 'false' });
      assert.equal(off.code, 0, off.stderr);
      assert.match(off.stdout, /^schedules deleted \(turned off in the config\): analytics-refresh$/m);
      await assert.rejects(client.schedule.getHandle(ANALYTICS_REFRESH_SCHEDULE_ID).describe(), ScheduleNotFoundError);
      // The default: hourly.
      assert.equal((await setup({})).code, 0);
      assert.deepEqual((await client.schedule.getHandle(ANALYTICS_REFRESH_SCHEDULE_ID).describe()).spec.intervals?.map((i) => i.every), [60 * 60_000]);
    } finally {
      await deployment.drop();
    }
  });
});
