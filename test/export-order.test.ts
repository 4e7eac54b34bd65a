import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kind } from '../src/parquet/pg-types.js';
import { exportOrder } from '../src/parquet/table-catalog.js';
import { keptExportOrder } from '../src/domain/export-order.js';

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

describe('keptExportOrder (backup.export_order left empty)', () => {
  const columns = [
    { name: 'symbol', pg_type: 'text', parquet_type: 'UTF8', nullable: false },
    { name: 'time', pg_type: 'timestamp with time zone', parquet_type: 'TIMESTAMP', nullable: false },
    { name: 'day', pg_type: 'date', parquet_type: 'DATE', nullable: false },
    { name: 'at', pg_type: 'timestamp(3) without time zone', parquet_type: 'TIMESTAMP', nullable: false },
  ];

  it('gives a table the latest version does not hold time first', () => {
    assert.equal(keptExportOrder(undefined), 'time_first');
  });

  it('keeps time first for rows sorted by a date or timestamp column first, whatever its precision or zone', () => {
    assert.equal(keptExportOrder({ columns, order_columns: ['time', 'symbol'] }), 'time_first');
    assert.equal(keptExportOrder({ columns, order_columns: ['day', 'symbol'] }), 'time_first');
    assert.equal(keptExportOrder({ columns, order_columns: ['at', 'symbol'] }), 'time_first');
  });

  it('keeps key order for rows sorted by another column first, and for entries written before order_columns', () => {
    assert.equal(keptExportOrder({ columns, order_columns: ['symbol', 'time'] }), 'key');
    assert.equal(keptExportOrder({ columns }), 'key');
    assert.equal(keptExportOrder({ columns, order_columns: ['gone', 'time'] }), 'key', 'a column no longer described');
  });
});
