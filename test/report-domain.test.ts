import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { COLOMBIA_FX, isColombianHoliday } from '../src/domain/calendar.js';
import { dailyCoverage } from '../src/domain/day-coverage.js';
import { detectGaps } from '../src/domain/gaps.js';
import type { ReportData } from '../src/report/data.js';
import { escapeHtml, renderReport } from '../src/report/render.js';

const bogota = (day: string, time: string) => Date.parse(`${day}T${time}:00-05:00`);

/** Every session bar of the days in [from, to) except the `missing` ones. */
function barsWithout(from: number, to: number, missing: Set<number>): number[] {
  return [...COLOMBIA_FX.expectedBars(from, to)].filter((b) => !missing.has(b));
}

describe('daily coverage', () => {
  // Monday 2025-08-04 .. Monday 2025-08-11 (exclusive end at midnight Bogota): 2025-08-07 is Batalla de Boyacá.
  const from = bogota('2025-08-04', '00:00');
  const to = bogota('2025-08-11', '00:00');

  test('one cell per local day: weekends and holidays closed, a planted gap missing with its bars', () => {
    assert.equal(isColombianHoliday('2025-08-07'), true);
    const missing = new Set([bogota('2025-08-05', '10:30'), bogota('2025-08-05', '10:35'), bogota('2025-08-05', '12:55')]);
    const report = detectGaps(COLOMBIA_FX, barsWithout(from, to, missing), from, to);
    const days = dailyCoverage(COLOMBIA_FX, report.gaps, from, to);
    assert.deepEqual(days.map((d) => [d.day, d.state]), [
      ['2025-08-04', 'complete'],
      ['2025-08-05', 'missing'],
      ['2025-08-06', 'complete'],
      ['2025-08-07', 'closed'],
      ['2025-08-08', 'complete'],
      ['2025-08-09', 'closed'],
      ['2025-08-10', 'closed'],
    ]);
    const gapDay = days[1]!;
    assert.equal(gapDay.expectedBars, COLOMBIA_FX.barsPerDay);
    assert.equal(gapDay.missingBars, 3);
    assert.equal(gapDay.completenessPct, Math.round((1000 * (COLOMBIA_FX.barsPerDay - 3)) / COLOMBIA_FX.barsPerDay) / 10);
    assert.deepEqual(gapDay.missing, [{ first: '10:30', last: '10:35', bars: 2 }, { first: '12:55', last: '12:55', bars: 1 }]);
  });

  test('a gap across the weekend counts its bars on each day it touches', () => {
    const missing = new Set([...COLOMBIA_FX.sessionBars('2025-08-08').slice(-2), ...COLOMBIA_FX.sessionBars('2025-08-11').slice(0, 1)]);
    const end = bogota('2025-08-12', '00:00');
    const report = detectGaps(COLOMBIA_FX, barsWithout(from, end, missing), from, end);
    assert.equal(report.gaps.length, 1);
    const byDay = new Map(dailyCoverage(COLOMBIA_FX, report.gaps, from, end).map((d) => [d.day, d]));
    assert.equal(byDay.get('2025-08-08')!.missingBars, 2);
    assert.equal(byDay.get('2025-08-09')!.state, 'closed');
    assert.equal(byDay.get('2025-08-11')!.missingBars, 1);
    assert.deepEqual(byDay.get('2025-08-11')!.missing, [{ first: '08:00', last: '08:00', bars: 1 }]);
  });

  test('a trading day whose session has not begun by the end of the period is pending, not missing', () => {
    const end = bogota('2025-08-05', '07:00');
    const report = detectGaps(COLOMBIA_FX, barsWithout(from, end, new Set()), from, end);
    const days = dailyCoverage(COLOMBIA_FX, report.gaps, from, end);
    assert.deepEqual(days.map((d) => d.state), ['complete', 'pending']);
  });
});

describe('report page rendering', () => {
  const hostile = '<script>alert("x")</script>&';
  const data: ReportData = {
    generatedAt: '2025-08-11T12:00:00.000Z',
    from: '2025-08-04T05:00:00.000Z',
    to: '2025-08-11T05:00:00.000Z',
    days: 7,
    storage: `s3://${hostile}`,
    symbols: [
      {
        symbol: hostile,
        calendar: 'colombia-fx',
        zone: 'America/Bogota',
        expectedBars: 60,
        presentBars: 59,
        completenessPct: 98.3,
        gapsBySeverity: { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 1 },
        worstGaps: [{ severity: 'LOW', type: 'intraday', start: '2025-08-05T15:30:00.000Z', end: '2025-08-05T15:30:00.000Z', bars: 1 }],
        days: [{ day: '2025-08-05', state: 'missing', expectedBars: 60, missingBars: 1, completenessPct: 98.3, missing: [{ first: '10:30', last: '10:30', bars: 1 }] }],
      },
    ],
    snapshots: [
      {
        version: '2025.08.05',
        complete: true,
        latest: true,
        pinned: false,
        objects: 3,
        bytes: 2048,
        createdAt: '2025-08-05T01:00:00.000Z',
        durationMs: 4000,
        tables: [{ table: hostile, rows: 12, bytes: 1024 }],
        verify: 'validated',
        verifiedAt: null,
        run: { workflowId: `seed-${hostile}`, url: `http://127.0.0.1:8233/namespaces/default/workflows/x"onmouseover="alert(1)` },
      },
    ],
    restores: [],
    health: { now: [{ component: hostile, status: 'red', details: hostile, measuredAt: '2025-08-11T11:00:00.000Z' }], days: 7, history: [], daily: [] },
    backfills: [],
    fileBackups: [],
    fileBackupsError: null,
    signals: [{ signalType: 'BACKUP_READY', status: 'completed', count: 2 }],
  };

  test('escapes every value taken from the data', () => {
    const page = renderReport(data, { snapshotSizes: null, healthDaily: null });
    assert.equal(page.includes('<script'), false);
    assert.equal(page.includes('"onmouseover'), false);
    assert.ok(page.includes(escapeHtml(hostile)));
    assert.ok(page.includes('data-day="2025-08-05" data-state="missing" data-missing-bars="1" title="2025-08-05: 59/60 bars (98.3%); missing 10:30"'));
  });

  test('self-contained: no external reference; a live page refreshes itself', () => {
    const page = renderReport(data, { snapshotSizes: null, healthDaily: null });
    assert.doesNotMatch(page, /<(script|img|iframe)\b|<link(?! rel="icon" href="data:,">)/i);
    assert.doesNotMatch(page, /url\(/i);
    assert.doesNotMatch(page, /http-equiv="refresh"/);
    assert.match(renderReport(data, { snapshotSizes: null, healthDaily: null }, { refreshSeconds: 15 }), /<meta http-equiv="refresh" content="15">/);
  });
});
