import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'puppeteer-core';
import pg from 'pg';
import { CLI } from '../bench/support.js';
import { loadDemoData, type DemoDataCounts } from '../src/db/demo-data.js';
import { PLANTED_GAPS, plantedGapBars, PRIMARY_SYMBOL } from '../src/db/demo/ohlcv.js';
import { createPool } from '../src/db/pool.js';
import { COLOMBIA_FX, isColombianHoliday } from '../src/domain/calendar.js';
import type { SeedSnapshotResult } from '../src/workflows/snapshot.js';
import { distinctColours, elements, launchBrowser, openRecordingRequests } from './support/browser.js';
import { runCli } from './support/cli.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { runSnapshot, versionsOf } from './support/snapshot.js';
import { createBucket, testConfig, uniqueName, withWorker } from './support/stack.js';

/** The period ends after the last planted gap (2025-08-12) and covers Batalla de Boyacá, a Thursday holiday. */
const PERIOD_END = '2025-08-31';
const GAP_DAY = PLANTED_GAPS.at(-1)!.day;
const HOLIDAY = '2025-08-07';
const UI = 'http://127.0.0.1:1/temporal-ui';

describe('report page', () => {
  let db: FreshDatabase;
  let sql: pg.Pool;
  let env: Record<string, string>;
  let dir: string;
  let browser: Browser;
  let counts: DemoDataCounts;
  let snapshot: SeedSnapshotResult;
  before(async () => {
    db = await freshDatabase('report');
    sql = createPool(db.url, 2);
    const bucket = uniqueName('report');
    await createBucket(bucket);
    env = { DATABASE_URL: db.url, S3_BUCKET: bucket, SEEDVAULT_TASK_QUEUE: uniqueName('report'), TEMPORAL_UI_URL: UI };
    dir = await mkdtemp(join(tmpdir(), 'seedvault-report-'));
    counts = await loadDemoData(db.url);
    const config = testConfig(env);
    const worker = await withWorker(config);
    try {
      // A version of its own: today's would take the date another test expects to be free.
      snapshot = await runSnapshot(config, { version: versionsOf(['06.01'])[0]! });
    } finally {
      await worker.stop();
    }
    await sql.query(
      `insert into pipeline_health (pipeline_name, component, status, details, measured_at) values
         ('seedvault', 'symbol.USD/COP.freshness', 'green', '{"details": "fresh"}', now() - interval '2 days'),
         ('seedvault', 'symbol.USD/COP.freshness', 'red', '{"details": "no bar for 3 market hours"}', now() - interval '1 hour'),
         ('seedvault', 'snapshot.age', 'green', '{"details": "latest is recent"}', now() - interval '1 hour')`,
    );
    await sql.query(
      `insert into backfill_state_persistent (execution_id, symbol, timeframe, status, records_inserted, created_at, completed_at) values
         ('6f1d7c1e-1f0e-4d43-9a1e-0c6f1b1c2d3e', 'USD/COP', '5min', 'completed', 42, '2025-08-20T03:00:00Z', '2025-08-20T03:05:00Z'),
         ('6f1d7c1e-1f0e-4d43-9a1e-0c6f1b1c2d3e', 'SYM002', '5min', 'failed', 0, '2025-08-20T03:00:00Z', '2025-08-20T03:06:00Z')`,
    );
    // One alert of the execution's failing symbol while it ran, one of another symbol: only the first counts.
    await sql.query(
      `insert into alert_deliveries (dedupe_key, channel, kind, status, created_at) values
         ('symbol_failing:SYM002:2025-08-20T03:06:00.000Z', 'webhook', 'symbol_failing', 'delivered', '2025-08-20T03:06:30Z'),
         ('symbol_failing:SYM009:2025-08-20T03:06:00.000Z', 'webhook', 'symbol_failing', 'delivered', '2025-08-20T03:06:30Z')`,
    );
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await sql?.end();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => runCli(args, { ...env, SEEDVAULT_NO_LOCAL_STACK: '1' });

  test('--out writes one self-contained page: calendar, snapshots, health, backfills in a real Chromium, no network', async () => {
    const out = join(dir, 'report.html');
    const result = await cli('report', '--out', out, '--days', '90', '--to', PERIOD_END);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^wrote .*report\.html/);
    const url = pathToFileURL(out).href;
    const { page, requests } = await openRecordingRequests(browser, url);
    try {
      assert.deepEqual(requests, [url], 'the page requests nothing but itself');

      const symbols = await elements(page, 'article.symbol', ['data-symbol']);
      assert.deepEqual(symbols.map((s) => s['data-symbol']), [PRIMARY_SYMBOL]);
      const cell = async (day: string) => (await elements(page, `article.symbol .day[data-day="${day}"]`, ['data-state', 'data-missing-bars', 'title']))[0];
      const gapBars = [...plantedGapBars()].filter((b) => COLOMBIA_FX.localDay(b) === GAP_DAY);
      const gap = await cell(GAP_DAY);
      assert.equal(gap?.['data-state'], 'missing');
      assert.equal(Number(gap?.['data-missing-bars']), gapBars.length);
      assert.match(gap?.title ?? '', new RegExp(`missing ${PLANTED_GAPS.at(-1)!.firstBar}`));
      assert.equal(isColombianHoliday(HOLIDAY), true);
      assert.equal((await cell(HOLIDAY))?.['data-state'], 'closed');
      assert.equal((await cell('2025-08-08'))?.['data-state'], 'complete', 'a normal trading day');
      assert.equal((await cell('2025-08-09'))?.['data-state'], 'closed', 'a Saturday');
      const end = Date.parse(PERIOD_END);
      const firstDay = Date.parse(COLOMBIA_FX.localDay(end - 90 * 86_400_000));
      const lastDay = Date.parse(COLOMBIA_FX.localDay(end - 1));
      assert.equal((await elements(page, 'article.symbol .day[data-day]')).length, (lastDay - firstDay) / 86_400_000 + 1, 'one cell per local day the period touches');
      const low = await elements(page, 'article.symbol [data-severity="LOW"]');
      assert.equal(low[0]?.text, 'LOW 1', 'the one-bar gap of the period');

      const versions = await elements(page, '#snapshot-versions tr[data-version]', ['data-version']);
      assert.deepEqual(versions.map((v) => v['data-version']), [snapshot.version]);
      const row = versions[0]!.text!;
      assert.match(row, /latest/);
      for (const [table, rows] of [['usdcop_m5_ohlcv', counts.ohlcv], ['macro_indicators_daily', counts.macro], ['trades_history', counts.trades]] as const) {
        assert.match(row, new RegExp(`${table}: ${rows} rows`));
      }
      const runLinks = await elements(page, '#snapshot-versions a.run', ['href']);
      assert.equal(runLinks[0]?.href, `${UI}/namespaces/${testConfig(env).temporal.namespace}/workflows/${encodeURIComponent(snapshot.manifest.workflow.id)}/${snapshot.manifest.workflow.run_id}/history`);

      const health = await elements(page, '#health-now tr[data-component]', ['data-component']);
      assert.deepEqual(health.map((h) => [h['data-component'], h.text!.slice(0, h.text!.indexOf(h['data-component']!))]), [
        ['snapshot.age', 'green'],
        ['symbol.USD/COP.freshness', 'red'],
      ]);
      assert.ok((await elements(page, '#health .chart svg')).length === 1, 'the daily health chart');
      assert.ok((await elements(page, '#snapshots .chart svg')).length === 1, 'the snapshot size chart');

      const backfills = await elements(page, '#backfill-executions tr[data-execution] td');
      assert.deepEqual(backfills.slice(1, 7).map((c) => c.text), ['2', '1', '1', '0', '42', '1']);

      const colours = await distinctColours(browser, await page.screenshot({ fullPage: true }));
      assert.ok(colours > 8, `the screenshot shows the page (${colours} colours)`);
    } finally {
      await page.close();
    }
    const html = await readFile(out, 'utf8');
    assert.doesNotMatch(html, /<(script|img|iframe)\b|<link(?! rel="icon" href="data:,">)/i, 'no script and no external resource');
  });

  test('--serve serves the page on loopback, refreshing itself, until SIGTERM', async () => {
    const child = spawn(process.execPath, [CLI, 'report', '--serve', '--port', '0', '--refresh', '5'], {
      env: { ...process.env, ...env, SEEDVAULT_NO_LOCAL_STACK: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    try {
      let stdout = '';
      child.stdout.on('data', (d) => (stdout += d));
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', () => {
          const match = /serving (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout);
          if (match) resolve(match[1]!);
        });
        child.on('exit', (code) => reject(new Error(`report --serve exited ${code}: ${stdout}`)));
      });
      const { page, requests } = await openRecordingRequests(browser, url);
      try {
        assert.deepEqual(requests, [url]);
        assert.equal((await elements(page, 'meta[http-equiv="refresh"]', ['content']))[0]?.content, '5');
        assert.equal((await elements(page, 'article.symbol', ['data-symbol']))[0]?.['data-symbol'], PRIMARY_SYMBOL);
      } finally {
        await page.close();
      }
      assert.equal((await fetch(new URL('/elsewhere', url))).status, 404);
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  test('bad flags: one-line errors, exit 2', async () => {
    for (const [args, message] of [
      [['report'], /exactly one of --out <file>, --serve or --json/],
      [['report', '--out', join(dir, 'x.html'), '--serve'], /exactly one of/],
      [['report', '--out', join(dir, 'x.html'), '--days', '0'], /--days must be an integer from 1 to 3650/],
      [['report', '--out', join(dir, 'x.html'), '--port', '8080'], /--port: only with --serve/],
      [['report', '--serve', '--port', '70000'], /--port must be an integer from 0 to 65535/],
      [['report', '--json', '--to', 'yesterday'], /--to: expected an ISO date/],
    ] as const) {
      const result = await cli(...args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    }
  });
});
