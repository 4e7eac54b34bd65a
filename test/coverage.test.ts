import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { COLOMBIA_FX, CRYPTO_24X7 } from '../src/domain/calendar.js';
import { barCoverage, barQualityScore, expectedBarCount } from '../src/domain/coverage.js';

const at = (iso: string) => Date.parse(iso);

describe('bar coverage', () => {
  test('expected bars follow the session: 60 on a Bogota weekday, none on weekends and Colombian holidays, part of a day in part', () => {
    // Tue 2026-01-06 trades 08:00-12:55 Bogota (13:00-17:55Z); Mon 2026-01-12 is Reyes Magos, moved to the Monday.
    assert.equal(expectedBarCount(COLOMBIA_FX, at('2026-01-06T13:00Z'), at('2026-01-06T17:55Z')), 60);
    assert.equal(expectedBarCount(COLOMBIA_FX, at('2026-01-12T00:00Z'), at('2026-01-12T23:59Z')), 0, 'holiday');
    assert.equal(expectedBarCount(COLOMBIA_FX, at('2026-01-09T13:00Z'), at('2026-01-13T17:55Z')), 120, 'Friday and Tuesday around a weekend and a holiday');
    assert.equal(expectedBarCount(COLOMBIA_FX, at('2026-01-10T00:00Z'), at('2026-01-11T23:59Z')), 0, 'weekend');
    assert.equal(expectedBarCount(COLOMBIA_FX, at('2026-01-06T14:00Z'), at('2026-01-06T14:55Z')), 12, 'an hour, both ends included');
    assert.equal(expectedBarCount(COLOMBIA_FX, at('2026-01-06T17:00Z'), at('2026-01-08T13:05Z')), 12 + 60 + 2, 'end of one day, a whole day, start of another');
    assert.equal(expectedBarCount(COLOMBIA_FX, at('2026-01-08T13:05Z'), at('2026-01-06T17:00Z')), 0, 'an empty span');
    assert.equal(expectedBarCount(CRYPTO_24X7, at('2026-01-10T00:00Z'), at('2026-01-10T23:55Z')), 288);
  });

  test('the day-by-day count equals enumerating the bars over months', () => {
    const from = at('2025-11-03T13:00Z');
    const to = at('2026-02-27T17:55Z');
    assert.equal(expectedBarCount(COLOMBIA_FX, from, to), [...COLOMBIA_FX.expectedBars(from, to + 1)].length);
  });

  test('completeness is present over expected across symbols, rounded down; quality also discounts anomalous bars', () => {
    const coverage = barCoverage(
      [
        { symbol: 'A', first: at('2026-01-06T13:00Z'), last: at('2026-01-06T17:55Z'), bars: 59 },
        { symbol: 'B', first: at('2026-01-06T13:00Z'), last: at('2026-01-07T17:55Z'), bars: 120 },
      ],
      () => COLOMBIA_FX,
    );
    assert.deepEqual(coverage, { symbols: 2, expected_bars: 180, present_bars: 179, completeness_pct: 99.44 });
    assert.equal(barQualityScore(coverage, 9), 94.44);
    assert.equal(barCoverage([], () => COLOMBIA_FX).completeness_pct, 100, 'no bars: nothing missing');
    const full = barCoverage([{ symbol: 'A', first: at('2026-01-06T13:00Z'), last: at('2026-01-06T17:55Z'), bars: 60 }], () => COLOMBIA_FX);
    assert.equal(full.completeness_pct, 100);
  });
});
