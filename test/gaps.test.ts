import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { COLOMBIA_FX } from '../src/domain/calendar.js';
import { batchRanges, detectGaps, requestRanges, severityFor } from '../src/domain/gaps.js';

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
