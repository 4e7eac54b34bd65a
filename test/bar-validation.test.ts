import assert from 'node:assert/strict';
import { test } from 'node:test';
import { barProblem, type OhlcBar } from '../src/domain/bar-validation.js';

const good: OhlcBar = { time: Date.parse('2026-01-06T13:00:00Z'), open: '4100.5', high: '4102', low: '4099', close: '4101', volume: '0' };

test('bar validation: the table\'s rules, checked before the insert', () => {
  assert.equal(barProblem(good), null);
  assert.equal(barProblem({ ...good, high: '4098' }), 'high below low');
  assert.equal(barProblem({ ...good, open: '4103' }), 'open outside [low, high]');
  assert.equal(barProblem({ ...good, close: '4098.9' }), 'close outside [low, high]');
  assert.equal(barProblem({ ...good, low: '0', open: '1', close: '1' }), 'low is not positive');
  assert.equal(barProblem({ ...good, open: 'n/a' }), 'open is not a number');
  assert.equal(barProblem({ ...good, time: NaN }), 'unreadable datetime');
  assert.equal(barProblem({ ...good, volume: '-1' }), 'volume is not a non-negative integer');
});
