import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as arrow from 'apache-arrow';
import { ReusedIpcBuffer } from '../src/parquet/parquet-writer.js';

/** A record batch of `rows` rows whose text widths vary with `seed`, so batches differ in size. */
function batchOf(rows: number, seed: number): arrow.RecordBatch {
  const table = arrow.tableFromArrays({
    id: Int32Array.from({ length: rows }, (_, i) => i * seed),
    price: Float64Array.from({ length: rows }, (_, i) => i / (seed + 1)),
    symbol: Array.from({ length: rows }, (_, i) => `S${'x'.repeat((i * seed) % 40)}${i}`),
  });
  return table.batches[0]!;
}

describe('ReusedIpcBuffer', () => {
  it('serialises each batch exactly as Arrow tableToIPC does, however its size changes between calls', () => {
    const ipc = new ReusedIpcBuffer();
    // Larger than the starting capacity (it grows), then smaller (stale bytes past the end must not show), then empty.
    for (const [rows, seed] of [[60_000, 3], [200, 7], [45_000, 1], [0, 2]] as const) {
      const batch = batchOf(rows, seed);
      const expected = arrow.tableToIPC(new arrow.Table(batch), 'stream');
      const actual = ipc.serialize(batch);
      assert.equal(actual.length, expected.length, `${rows} rows`);
      assert.ok(Buffer.from(actual.buffer, actual.byteOffset, actual.length).equals(Buffer.from(expected)), `${rows} rows: same bytes`);
      assert.equal(arrow.tableFromIPC(actual).numRows, rows);
    }
  });
});
