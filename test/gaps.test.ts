import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { COLOMBIA_FX, CRYPTO_24X7 } from '../src/domain/calendar.js';
import { analyzeGapPatterns, batchRanges, classifyGap, detectGaps, impactScore, reachesRangeEdge, requestRanges, severityFor, type RecordedGap } from '../src/domain/gaps.js';

const bogota = (day: string, time: string) => Date.parse(`${day}T${time}:00-05:00`);
const MINUTE = 60_000;
/** Every session bar of the given days. */
const fullDays = (...days: string[]) => days.flatMap((d) => COLOMBIA_FX.sessionBars(d));

describe('gap detection on the Colombian FX calendar', () => {
  test('a complete week has no gaps; the weekend expects nothing', () => {
    const days = ['2026-01-05', '2026-01-06', '2026-01-07', '2026-01-08', '2026-01-09'];
    const report = detectGaps(COLOMBIA_FX, fullDays(...days), bogota('2026-01-05', '00:00'), bogota('2026-01-12', '00:00'));
    assert.deepEqual(report, { expectedBars: 300, presentBars: 300, completenessPct: 100, gaps: [] });
    const weekend = detectGaps(COLOMBIA_FX, [], bogota('2026-01-10', '00:00'), bogota('2026-01-12', '00:00'));
    assert.deepEqual(weekend, { expectedBars: 0, presentBars: 0, completenessPct: 100, gaps: [] });
  });

  test('a Colombian holiday (2026-07-13) expects no bars', () => {
    const report = detectGaps(COLOMBIA_FX, [], bogota('2026-07-13', '00:00'), bogota('2026-07-14', '00:00'));
    assert.equal(report.expectedBars, 0);
    assert.deepEqual(report.gaps, []);
  });

  test('a gap over the weekend is one gap counting only business minutes', () => {
    const bars = fullDays('2026-01-16', '2026-01-19').filter((t) => t < bogota('2026-01-16', '12:00') || t >= bogota('2026-01-19', '09:00'));
    const report = detectGaps(COLOMBIA_FX, bars, bogota('2026-01-16', '00:00'), bogota('2026-01-20', '00:00'));
    assert.equal(report.gaps.length, 1);
    const [gap] = report.gaps;
    assert.equal(gap!.start, bogota('2026-01-16', '12:00'));
    assert.equal(gap!.end, bogota('2026-01-19', '08:55'));
    assert.equal(gap!.missingBars, 12 + 12);
    assert.equal(gap!.minutes, 120);
    assert.equal(gap!.severity, 'HIGH');
    assert.equal(report.completenessPct, 80);
  });

  test('session edges: the 08:00 and 12:55 bars are expected, 07:55 and 13:00 are not', () => {
    const day = '2026-01-06';
    const bars = fullDays(day).filter((t) => t !== bogota(day, '08:00') && t !== bogota(day, '12:55'));
    const extra = [bogota(day, '07:50'), bogota(day, '13:05')];
    const report = detectGaps(COLOMBIA_FX, [...extra.slice(0, 1), ...bars, ...extra.slice(1)], bogota(day, '00:00'), bogota('2026-01-07', '00:00'));
    assert.deepEqual(
      report.gaps.map((g) => [g.start, g.end]),
      [
        [bogota(day, '08:00'), bogota(day, '08:00')],
        [bogota(day, '12:55'), bogota(day, '12:55')],
      ],
    );
    assert.equal(report.expectedBars, 60);
  });

  test('tolerance: a bar up to 2 minutes off its slot counts, 3 minutes off does not', () => {
    const day = '2026-01-06';
    const at = bogota(day, '10:00');
    const others = fullDays(day).filter((t) => t !== at);
    const within = detectGaps(COLOMBIA_FX, [...others, at + 2 * MINUTE].sort((a, b) => a - b), bogota(day, '00:00'), bogota(day, '23:59'));
    assert.deepEqual(within.gaps, []);
    const early = detectGaps(COLOMBIA_FX, [...others, at - 2 * MINUTE].sort((a, b) => a - b), bogota(day, '00:00'), bogota(day, '23:59'));
    assert.deepEqual(early.gaps, []);
    const outside = detectGaps(COLOMBIA_FX, [...others, at + 3 * MINUTE].sort((a, b) => a - b), bogota(day, '00:00'), bogota(day, '23:59'));
    assert.deepEqual(outside.gaps.map((g) => g.start), [at]);
  });

  test('each severity boundary, by business minutes missing', () => {
    assert.equal(severityFor(5), 'LOW');
    assert.equal(severityFor(15), 'LOW');
    assert.equal(severityFor(20), 'MEDIUM');
    assert.equal(severityFor(60), 'MEDIUM');
    assert.equal(severityFor(65), 'HIGH');
    assert.equal(severityFor(240), 'HIGH');
    assert.equal(severityFor(245), 'CRITICAL');
    // The same boundaries through the detector: 3, 4, 12, 13, 48, 49 missing bars.
    const day = '2026-01-06';
    const severityOfMissing = (n: number) => {
      const all = fullDays(day, '2026-01-07');
      const report = detectGaps(COLOMBIA_FX, [...all.slice(0, 5), ...all.slice(5 + n)], bogota(day, '00:00'), bogota('2026-01-08', '00:00'));
      assert.equal(report.gaps.length, 1);
      return report.gaps[0]!.severity;
    };
    assert.deepEqual([3, 4, 12, 13, 48, 49].map(severityOfMissing), ['LOW', 'MEDIUM', 'MEDIUM', 'HIGH', 'HIGH', 'CRITICAL']);
  });

  test('request ranges stay inside one session and hold at most max_points_per_call bars', () => {
    // Friday 2026-07-10, then the weekend and the holiday Monday 2026-07-13, then Tuesday: all missing.
    const report = detectGaps(COLOMBIA_FX, [], bogota('2026-07-10', '00:00'), bogota('2026-07-15', '00:00'));
    assert.equal(report.gaps.length, 1);
    assert.equal(report.gaps[0]!.missingBars, 120);
    const ranges = requestRanges(COLOMBIA_FX, report.gaps, 25);
    assert.deepEqual(
      ranges.map((r) => r.bars),
      [25, 25, 10, 25, 25, 10],
    );
    for (const r of ranges) assert.equal(COLOMBIA_FX.localDay(r.start), COLOMBIA_FX.localDay(r.end));
    assert.equal(ranges[0]!.start, bogota('2026-07-10', '08:00'));
    assert.equal(ranges[2]!.end, bogota('2026-07-10', '12:55'));
    assert.equal(ranges[3]!.start, bogota('2026-07-14', '08:00'));
    assert.deepEqual(requestRanges(COLOMBIA_FX, report.gaps, 5000).map((r) => r.bars), [60, 60]);
  });

  test('batching: at most max_api_calls_per_batch requests per batch, order kept', () => {
    const batches = batchRanges([1, 2, 3, 4, 5, 6, 7], 3);
    assert.deepEqual(batches, [[1, 2, 3], [4, 5, 6], [7]]);
    assert.deepEqual(batchRanges([], 3), []);
    assert.throws(() => batchRanges([1], 0), RangeError);
  });
});

describe('gap type and impact score', () => {
  const day = '2026-01-06';
  test('types by the session: open, close, intraday, whole day, across days', () => {
    const type = (start: string, end: string, endDay = day) => classifyGap(COLOMBIA_FX, { start: bogota(day, start), end: bogota(endDay, end) });
    assert.equal(type('08:00', '08:30'), 'open-of-session');
    assert.equal(type('12:00', '12:55'), 'close-of-session');
    assert.equal(type('08:05', '12:50'), 'intraday');
    assert.equal(type('10:00', '10:00'), 'intraday');
    assert.equal(type('08:00', '12:55'), 'whole-day');
    assert.equal(type('12:50', '08:05', '2026-01-07'), 'multi-day');
    assert.equal(type('08:00', '12:55', '2026-01-07'), 'multi-day', 'two whole days are one multi-day gap');
    // The same rules on another calendar: crypto sessions are whole UTC days.
    const utc = (t: string) => Date.parse(`2026-01-06T${t}:00Z`);
    assert.equal(classifyGap(CRYPTO_24X7, { start: utc('00:00'), end: utc('01:00') }), 'open-of-session');
    assert.equal(classifyGap(CRYPTO_24X7, { start: utc('00:00'), end: utc('23:55') }), 'whole-day');
  });

  test('a gap reaching the start or the end of the range examined may go on: not a closed gap', () => {
    const gap = { start: bogota(day, '10:00'), end: bogota(day, '10:30') };
    assert.equal(reachesRangeEdge(COLOMBIA_FX, gap, bogota(day, '00:00'), bogota(day, '23:00')), false);
    assert.equal(reachesRangeEdge(COLOMBIA_FX, gap, bogota(day, '10:00'), bogota(day, '23:00')), true, 'starts at the range start');
    assert.equal(reachesRangeEdge(COLOMBIA_FX, gap, bogota(day, '00:00'), bogota(day, '10:35')), true, 'the next bar is outside the range');
    assert.equal(reachesRangeEdge(COLOMBIA_FX, gap, bogota(day, '00:00'), bogota(day, '10:40')), false);
    // Closed hours between the gap and the range end do not count as seen bars.
    const closing = { start: bogota(day, '12:00'), end: bogota(day, '12:55') };
    assert.equal(reachesRangeEdge(COLOMBIA_FX, closing, bogota(day, '00:00'), bogota('2026-01-07', '07:00')), true);
    assert.equal(reachesRangeEdge(COLOMBIA_FX, closing, bogota(day, '00:00'), bogota('2026-01-07', '09:00')), false);
  });

  test('impact: minutes halved per week of age, never above the minutes for a future gap', () => {
    const end = bogota(day, '10:00');
    const DAY = 86_400_000;
    assert.equal(impactScore({ end, minutes: 60 }, end), 60);
    assert.equal(impactScore({ end, minutes: 60 }, end + 7 * DAY), 30);
    assert.equal(impactScore({ end, minutes: 60 }, end + 14 * DAY), 15);
    assert.equal(impactScore({ end, minutes: 60 }, end + 3.5 * DAY), 42.43);
    assert.equal(impactScore({ end, minutes: 60 }, end - DAY), 60);
    assert.ok(impactScore({ end, minutes: 5 }, end) < impactScore({ end, minutes: 10 }, end + DAY), 'more minutes can outweigh a little age');
  });
});

describe('gap patterns', () => {
  const gap = (startDay: string, start: string, endDay: string, end: string): RecordedGap => {
    const g = { start: bogota(startDay, start), end: bogota(endDay, end) };
    let bars = 0;
    for (const _ of COLOMBIA_FX.expectedBars(g.start, g.end + 1)) bars += 1;
    return { ...g, minutes: bars * 5, type: classifyGap(COLOMBIA_FX, g) };
  };
  // Now: Wednesday 2026-01-21 18:00 Bogota; 14 days back is Wednesday 2026-01-07 18:00.
  const now = bogota('2026-01-21', '18:00');
  const gaps = [
    gap('2026-01-06', '09:00', '2026-01-06', '09:25'), // before the lookback: ignored
    gap('2026-01-08', '08:00', '2026-01-08', '08:25'), // Thursday open, 30 min
    gap('2026-01-13', '12:30', '2026-01-14', '08:15'), // Tuesday close to Wednesday open, 6 + 4 bars
    gap('2026-01-14', '10:00', '2026-01-14', '10:05'), // Wednesday intraday, 10 min
    gap('2026-01-20', '08:00', '2026-01-20', '12:55'), // Tuesday whole day, 300 min
  ];

  test('counts gaps at their start and spreads missing minutes over weekday, hour and week, in the market zone', () => {
    const p = analyzeGapPatterns(COLOMBIA_FX, gaps, now, 14);
    assert.equal(p.zone, 'America/Bogota');
    assert.equal(p.gaps, 4);
    assert.equal(p.minutes, 30 + 50 + 10 + 300);
    assert.deepEqual(p.byWeekday.Thursday, { gaps: 1, minutes: 30 });
    assert.deepEqual(p.byWeekday.Tuesday, { gaps: 2, minutes: 30 + 300 });
    assert.deepEqual(p.byWeekday.Wednesday, { gaps: 1, minutes: 20 + 10 });
    assert.deepEqual(p.byWeekday.Monday, { gaps: 0, minutes: 0 });
    assert.deepEqual(p.byWeekday.Saturday, { gaps: 0, minutes: 0 });
    assert.deepEqual(p.byHour['08'], { gaps: 2, minutes: 30 + 20 + 60 });
    assert.deepEqual(p.byHour['12'], { gaps: 1, minutes: 30 + 60 });
    assert.deepEqual(p.byHour['10'], { gaps: 1, minutes: 10 + 60 });
    assert.deepEqual(p.byType, {
      'open-of-session': { gaps: 1, minutes: 30 },
      'close-of-session': { gaps: 0, minutes: 0 },
      intraday: { gaps: 1, minutes: 10 },
      'whole-day': { gaps: 1, minutes: 300 },
      'multi-day': { gaps: 1, minutes: 50 },
    });
    assert.deepEqual(p.byWeek, [
      { week: '2026-01-05', gaps: 1, minutes: 30 },
      { week: '2026-01-12', gaps: 2, minutes: 60 },
      { week: '2026-01-19', gaps: 1, minutes: 300 },
    ]);
    // Least squares over 30, 60, 300: (30 * -1 + 300 * 1) / 2.
    assert.equal(p.trendMinutesPerWeek, 135);
  });

  test('a shorter lookback keeps only the recent gaps; none gives empty buckets and a flat trend', () => {
    const recent = analyzeGapPatterns(COLOMBIA_FX, gaps, now, 2);
    assert.equal(recent.gaps, 1);
    assert.deepEqual(recent.byWeek, [{ week: '2026-01-19', gaps: 1, minutes: 300 }]);
    assert.equal(recent.trendMinutesPerWeek, 0);
    const none = analyzeGapPatterns(COLOMBIA_FX, [], now, 14);
    assert.equal(none.gaps, 0);
    assert.equal(none.trendMinutesPerWeek, 0);
    assert.ok(Object.values(none.byHour).every((b) => b.gaps === 0 && b.minutes === 0));
  });
});
