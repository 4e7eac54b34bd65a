import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dataObjects, partFileName, renderChecksums, type ManifestTable } from '../src/domain/manifest.js';
import { exportSlots, exportTaskQueue } from '../src/domain/export-slots.js';
import { keyRanges, mergedDateRange, mergedSpans, partCount, partsDigestInput } from '../src/domain/split.js';

describe('export slots per worker', () => {
  test('temporal.max_concurrent_exports wins; empty gives half the cores, at least 1', () => {
    assert.equal(exportSlots(3, 2), 3);
    assert.equal(exportSlots(null, 1), 1);
    assert.equal(exportSlots(null, 2), 1);
    assert.equal(exportSlots(null, 3), 1);
    assert.equal(exportSlots(null, 8), 4);
  });

  test('exports have a task queue of their own next to the configured one', () => {
    assert.equal(exportTaskQueue('seedvault'), 'seedvault-export');
  });
});

describe('splitting a table into key ranges', () => {
  test('a table splits only above split_rows, into ceil(rows / split_rows) parts', () => {
    assert.equal(partCount(20_000_000, 20_000_000), 1);
    assert.equal(partCount(20_000_001, 20_000_000), 2);
    assert.equal(partCount(100_000_000, 20_000_000), 5);
    assert.equal(partCount(0, 1000), 1);
  });

  test('ranges are bounded by the sample quantiles, chain without gaps, and open at both ends', () => {
    const sample = Array.from({ length: 100 }, (_, i) => ['S', String(1000 + i)]);
    const ranges = keyRanges(sample, 4);
    assert.deepEqual(ranges, [
      { from: null, to: ['S', '1025'] },
      { from: ['S', '1025'], to: ['S', '1050'] },
      { from: ['S', '1050'], to: ['S', '1075'] },
      { from: ['S', '1075'], to: null },
    ]);
  });

  test('repeated sample keys collapse into fewer parts instead of empty ranges', () => {
    const sample = [['a'], ['a'], ['a'], ['a'], ['a'], ['b']];
    assert.deepEqual(keyRanges(sample, 3), [{ from: null, to: null }]);
    assert.deepEqual(keyRanges([['a'], ['b'], ['b'], ['b']], 4), [
      { from: null, to: ['b'] },
      { from: ['b'], to: null },
    ]);
    assert.deepEqual(keyRanges([], 3), [{ from: null, to: null }]);
  });

  test('parts add up: date ranges, and one span per symbol across part bounds', () => {
    assert.deepEqual(mergedDateRange([['2024-01-02', '2024-03-01'], null, ['2023-12-30', '2024-02-01']]), ['2023-12-30', '2024-03-01']);
    assert.equal(mergedDateRange([null, null]), null);
    assert.deepEqual(
      mergedSpans([
        { symbol: 'B', first: 5, last: 9, bars: 2 },
        { symbol: 'A', first: 1, last: 4, bars: 4 },
        { symbol: 'B', first: 10, last: 20, bars: 3 },
      ]),
      [
        { symbol: 'A', first: 1, last: 4, bars: 4 },
        { symbol: 'B', first: 5, last: 20, bars: 5 },
      ],
    );
  });

  test('a split table lists its parts as its data objects and in checksums.sha256', () => {
    const part = (i: number) => ({ file: partFileName('bars', i, 'parquet'), rows: 1, key_range: { from: null, to: null }, date_range: null, size_bytes: 1, sha256: String(i).repeat(64) });
    const split = { file: 'bars/', rows: 2, size_bytes: 2, sha256: 'f'.repeat(64), parts: [part(0), part(1)] } as ManifestTable;
    const single = { file: 'macro.parquet', rows: 1, size_bytes: 1, sha256: 'e'.repeat(64) } as ManifestTable;
    assert.equal(partFileName('bars', 12, 'csv.gz'), 'bars/part-00012.csv.gz');
    assert.deepEqual(dataObjects(split).map((o) => o.file), ['bars/part-00000.parquet', 'bars/part-00001.parquet']);
    assert.deepEqual(dataObjects(single), [single]);
    assert.equal(renderChecksums({ bars: split, macro: single }), `${'0'.repeat(64)}  bars/part-00000.parquet\n${'1'.repeat(64)}  bars/part-00001.parquet\n${'e'.repeat(64)}  macro.parquet\n`);
    assert.equal(partsDigestInput(split.parts!), `${'0'.repeat(64)}  bars/part-00000.parquet\n${'1'.repeat(64)}  bars/part-00001.parquet\n`);
  });
});
