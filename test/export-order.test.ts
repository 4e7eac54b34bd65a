import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kind } from '../src/parquet/pg-types.js';
import { exportOrder } from '../src/parquet/table-catalog.js';

describe('exportOrder', () => {
  const columns = [
    { name: 'symbol', kind: Kind.Text },
    { name: 'time', kind: Kind.TimestampTz },
    { name: 'day', kind: Kind.Date },
    { name: 'id', kind: Kind.Int8 },
  ];

  it('time_first moves the key\'s first date or timestamp column to the front, keeping the others in key order', () => {
    assert.deepEqual(exportOrder(['symbol', 'time'], columns, 'time_first'), ['time', 'symbol']);
    assert.deepEqual(exportOrder(['id', 'symbol', 'day', 'time'], columns, 'time_first'), ['day', 'id', 'symbol', 'time']);
  });

  it('keeps the key\'s own order by default (backup.export_order key)', () => {
    assert.deepEqual(exportOrder(['symbol', 'time'], columns), ['symbol', 'time']);
    assert.deepEqual(exportOrder(['symbol', 'time'], columns, 'key'), ['symbol', 'time']);
  });

  it('time_first keeps a key without one, or already led by one, as it is', () => {
    assert.deepEqual(exportOrder(['symbol', 'id'], columns, 'time_first'), ['symbol', 'id']);
    assert.deepEqual(exportOrder(['time', 'symbol'], columns, 'time_first'), ['time', 'symbol']);
    assert.deepEqual(exportOrder([], columns, 'time_first'), []);
  });
});
