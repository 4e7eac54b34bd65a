/**
 * A Parquet file read while it downloads (src/parquet/arriving-file.ts): the footer's row
 * group ends are the ones pyarrow reports, a row group is decoded as soon as its bytes are in
 * (before the download ends), and what is read equals the file read whole.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { prepareArriving, tailStart, writeSegments } from '../src/parquet/arriving-file.js';
import { rowGroupEnds } from '../src/parquet/parquet-footer.js';
import { parquetFileInfo, readParquetBatches } from '../src/parquet/parquet-reader.js';
import { withPyarrow } from './support/pyarrow.js';

const ROWS = 50_000;
const ROW_GROUP_ROWS = 12_000;
const COLUMNS = ['id', 'symbol', 'price'];
const CHUNK = 16_384;

let dir: string;
let path: string;
let bytes: Buffer;
/** Row group ends as pyarrow computes them from its own metadata. */
let pyarrowEnds: number[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'seedvault-arriving-'));
  path = join(dir, 'file.parquet');
  // Dictionary-encoded strings (dictionary pages first) and page indexes between the last row group and the footer.
  const script = `
import json, sys, pyarrow as pa, pyarrow.parquet as pq
n = ${ROWS}
table = pa.table({'id': pa.array(range(n), pa.int64()), 'symbol': pa.array(['SYM%d' % (i % 37) for i in range(n)]), 'price': pa.array([i / 7 for i in range(n)])})
pq.write_table(table, sys.argv[1], row_group_size=${ROW_GROUP_ROWS}, compression='snappy', write_page_index=True)
meta = pq.ParquetFile(sys.argv[1]).metadata
ends = []
for g in range(meta.num_row_groups):
    end = 0
    for c in range(meta.num_columns):
        col = meta.row_group(g).column(c)
        start = col.dictionary_page_offset if col.has_dictionary_page else col.data_page_offset
        end = max(end, start + col.total_compressed_size)
    ends.append(end)
print(json.dumps(ends))`;
  pyarrowEnds = JSON.parse(await withPyarrow((python) => python(['-c', script, path])));
  bytes = await readFile(path);
});
after(() => rm(dir, { recursive: true, force: true }));

/** The object's tail from the first byte after the last row group, as the restore fetches it. */
function tailOf(ends: number[]): Buffer {
  return bytes.subarray(tailStart(ends));
}

async function* collect(source: Parameters<typeof readParquetBatches>[0]): AsyncGenerator<unknown[]> {
  for await (const batch of readParquetBatches(source, COLUMNS)) {
    for (const row of batch) yield COLUMNS.map((c) => row![c]);
  }
}

describe('a Parquet file read while it arrives', () => {
  it('finds the row group ends pyarrow reports, with dictionary pages and page indexes in the file', () => {
    assert.equal(pyarrowEnds.length, Math.ceil(ROWS / ROW_GROUP_ROWS));
    assert.deepEqual(rowGroupEnds(bytes), pyarrowEnds);
    assert.ok(tailStart(pyarrowEnds) < bytes.length - 8 - bytes.readUInt32LE(bytes.length - 8), 'page indexes lie between the last row group and the footer');
  });

  it('decodes a row group once its bytes are in, before the download ends, and reads what the whole file holds', async () => {
    const ends = rowGroupEnds(bytes);
    const arrivalDir = await mkdtemp(join(dir, 'arrival-'));
    const arriving = await prepareArriving(arrivalDir, ends, tailOf(ends));
    assert.equal((await parquetFileInfo(arriving)).rows, ROWS, 'the footer alone gives the row count');

    let firstRowRead!: () => void;
    const firstRow = new Promise<void>((resolve) => (firstRowRead = resolve));
    let sentWhenFirstRowRead = -1;
    let sent = 0;
    // The body pauses after the second row group until the reader has its first row (5 s at most).
    async function* body(): AsyncGenerator<Buffer> {
      for (let offset = 0; offset < bytes.length; offset += CHUNK) {
        if (offset >= ends[1]! && sentWhenFirstRowRead < 0) await Promise.race([firstRow, sleep(5000)]);
        const chunk = bytes.subarray(offset, offset + CHUNK);
        sent += chunk.length;
        yield chunk;
      }
    }
    const download = writeSegments(body(), arrivalDir, ends);
    const rows: unknown[][] = [];
    for await (const row of collect(arriving)) {
      if (rows.length === 0) {
        sentWhenFirstRowRead = sent;
        firstRowRead();
      }
      rows.push(row);
    }
    const last = await download;
    assert.ok(sentWhenFirstRowRead >= 0 && sentWhenFirstRowRead < ends[1]! + CHUNK, `the first row was read after ${sentWhenFirstRowRead} of ${bytes.length} bytes had arrived`);
    assert.deepEqual(await readFile(last), tailOf(ends), 'the last segment is the tail the reader used');
    const whole: unknown[][] = [];
    for await (const row of collect(path)) whole.push(row);
    assert.equal(rows.length, ROWS);
    assert.deepEqual(rows, whole);
  });

  it('fails, naming the byte, when the download ends before a row group does', async () => {
    const ends = rowGroupEnds(bytes);
    const arrivalDir = await mkdtemp(join(dir, 'short-'));
    async function* short(): AsyncGenerator<Buffer> {
      yield bytes.subarray(0, ends[2]! - 100);
    }
    await assert.rejects(writeSegments(short(), arrivalDir, ends), new RegExp(`ended at byte ${ends[2]! - 100}, before row group 2 ends \\(byte ${ends[2]}\\)`));
  });
});
