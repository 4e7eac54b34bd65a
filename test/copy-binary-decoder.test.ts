/**
 * Unit tests of the binary COPY decoding: hand-made COPY streams, split at every possible
 * chunk boundary, must decode to the same values in Arrow batches and in CSV text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as arrow from 'apache-arrow';
import { ArrowBatchBuilder } from '../src/parquet/arrow-builder.js';
import { CopyBinaryDecoder } from '../src/parquet/copy-binary-decoder.js';
import { CsvRowWriter } from '../src/parquet/csv-writer.js';
import { DateRangeTap } from '../src/parquet/date-range.js';
import { GroupSpanTracker, type GroupSpan } from '../src/parquet/group-spans.js';
import { DecimalStatus, numericTextLength, numericToDecimal128, numericToText } from '../src/parquet/pg-numeric.js';
import { Kind, type ColumnSpec } from '../src/parquet/pg-types.js';

// ---- building binary COPY data --------------------------------------------------------

const PG_EPOCH_MICROS = 946_684_800_000_000n;
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

function copyStream(rows: (Buffer | null)[][]): Buffer {
  const parts = [SIGNATURE, int32(0), int32(0)];
  for (const row of rows) {
    parts.push(int16(row.length));
    for (const field of row) parts.push(field === null ? int32(-1) : Buffer.concat([int32(field.length), field]));
  }
  parts.push(int16(-1));
  return Buffer.concat(parts);
}

const int16 = (v: number) => { const b = Buffer.alloc(2); b.writeInt16BE(v); return b; };
const int32 = (v: number) => { const b = Buffer.alloc(4); b.writeInt32BE(v); return b; };
const int64 = (v: bigint) => { const b = Buffer.alloc(8); b.writeBigInt64BE(v); return b; };
const float64 = (v: number) => { const b = Buffer.alloc(8); b.writeDoubleBE(v); return b; };
const text = (v: string) => Buffer.from(v, 'utf8');

/** PostgreSQL's binary numeric for a decimal literal: base-10000 groups aligned on the point. */
function numeric(literal: string): Buffer {
  if (literal === 'NaN') return Buffer.concat([int16(0), int16(0), Buffer.from([0xc0, 0]), int16(0)]);
  const negative = literal.startsWith('-');
  const [whole, fraction = ''] = literal.replace('-', '').split('.');
  const wholePadded = whole.padStart(Math.ceil(whole.length / 4) * 4, '0');
  const fractionPadded = fraction.padEnd(Math.ceil(fraction.length / 4) * 4, '0');
  const groups = (wholePadded + fractionPadded).match(/.{4}/g)!.map(Number);
  let weight = wholePadded.length / 4 - 1;
  while (groups.length > 0 && groups[0] === 0) { groups.shift(); weight--; }
  while (groups.length > 0 && groups[groups.length - 1] === 0) groups.pop();
  if (groups.length === 0) weight = 0;
  return Buffer.concat([int16(groups.length), int16(weight), Buffer.from([negative ? 0x40 : 0, 0]), int16(fraction.length), ...groups.map(int16)]);
}

/** Microseconds since 2000-01-01 for an ISO instant with up to 6 fractional digits. */
function timestamp(iso: string): Buffer {
  return int64(unixMicros(iso) - PG_EPOCH_MICROS);
}
function unixMicros(iso: string): bigint {
  const match = /^(.*?)(?:\.(\d+))?Z$/.exec(iso)!;
  return BigInt(Date.parse(`${match[1]}Z`)) * 1000n + BigInt((match[2] ?? '').padEnd(6, '0'));
}
function date(iso: string): Buffer {
  return int32(Date.parse(`${iso}T00:00:00Z`) / 86_400_000 - 10_957);
}

// ---- decoding helpers -----------------------------------------------------------------

function spec(name: string, kind: Kind, extra: Partial<ColumnSpec> = {}): ColumnSpec {
  return { name, pgType: 'test', kind, precision: 0, scale: 0, nullable: true, parquetType: 'test', ...extra };
}

interface DecodedBatch {
  numRows: number;
  rows: unknown[][];
}

/** Feeds the chunks one by one, collecting every batch the builder finishes as plain values. */
function decodeToBatches(chunks: Buffer[], columns: ColumnSpec[], batchRows = 1000): DecodedBatch[] {
  const builder = new ArrowBatchBuilder('test.t', columns, batchRows, 1 << 20);
  const decoder = new CopyBinaryDecoder(columns.length, builder);
  const batches: DecodedBatch[] = [];
  // Builder buffers are reused, so each batch is read out before the next one is built.
  const keep = (batch: arrow.RecordBatch) => batches.push({ numRows: batch.numRows, rows: rowsOf(batch) });
  for (const chunk of chunks) {
    decoder.push(chunk);
    while (decoder.decode()) keep(builder.finish());
  }
  decoder.finish();
  if (!builder.isEmpty) keep(builder.finish());
  return batches;
}

/** Plain JS values: bigint for 64-bit and decimal integers (unscaled), hex for bytes. */
function rowsOf(batch: arrow.RecordBatch): unknown[][] {
  const rows: unknown[][] = [];
  for (let r = 0; r < batch.numRows; r++) {
    rows.push(
      batch.schema.fields.map((field, c) => {
        const vector = batch.getChildAt(c)!;
        if (!vector.isValid(r)) return null;
        const data = vector.data[0];
        switch (field.type.typeId) {
          case 2 /* Int */:
            return (field.type as arrow.Int).bitWidth === 64 ? (data.values as BigInt64Array)[r] : vector.get(r);
          case 7 /* Decimal */: {
            const words = data.values as Uint32Array;
            let value = 0n;
            for (let w = 3; w >= 0; w--) value = (value << 32n) | BigInt(words[4 * r + w]);
            return BigInt.asIntN(128, value);
          }
          case 10 /* Timestamp */:
            return (data.values as BigInt64Array)[r];
          case 8 /* Date */:
            return (data.values as Int32Array)[r];
          case 4 /* Binary */:
            return Buffer.from(vector.get(r) as Uint8Array).toString('hex');
          default:
            return vector.get(r);
        }
      }),
    );
  }
  return rows;
}

function decodeRows(chunks: Buffer[], columns: ColumnSpec[], batchRows?: number): unknown[][] {
  return decodeToBatches(chunks, columns, batchRows).flatMap((batch) => batch.rows);
}

function decodeCsv(chunks: Buffer[], columns: ColumnSpec[]): string {
  const writer = new CsvRowWriter('test.t', columns);
  const decoder = new CopyBinaryDecoder(columns.length, writer);
  const parts: Uint8Array[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk);
    while (decoder.decode()) parts.push(writer.finish());
  }
  decoder.finish();
  parts.push(writer.finish());
  return Buffer.concat(parts).toString('utf8');
}

// ---- fixtures -------------------------------------------------------------------------

const COLUMNS: ColumnSpec[] = [
  spec('id', Kind.Int8, { nullable: false }),
  spec('small', Kind.Int2),
  spec('price', Kind.Decimal, { precision: 12, scale: 4 }),
  spec('amount', Kind.NumericText),
  spec('at', Kind.TimestampTz),
  spec('day', Kind.Date),
  spec('name', Kind.Text),
  spec('ok', Kind.Bool),
  spec('ratio', Kind.Float8),
  spec('doc', Kind.Jsonb),
  spec('key', Kind.Uuid),
  spec('raw', Kind.Bytea),
];

const ROWS: (Buffer | null)[][] = [
  [int64(1n), int16(-2), numeric('1.5'), numeric('0'), timestamp('2024-03-01T12:34:56.789012Z'), date('2024-03-01'), text('AAPL'), Buffer.from([1]), float64(0.1), Buffer.concat([Buffer.from([1]), text('{"a": 1}')]), Buffer.from('0123456789abcdef0123456789abcdef', 'hex'), Buffer.from([0, 255])],
  [int64(-9_007_199_254_740_993n), null, numeric('-1.5'), numeric('NaN'), timestamp('1999-12-31T23:59:59.999999Z'), date('1954-07-31'), text('comma, "quoted"\nline'), Buffer.from([0]), null, null, null, Buffer.alloc(0)],
  [int64(3n), int16(32767), numeric('0.0001'), numeric('-123456789012345678901234567890.000000000000000001'), timestamp('1969-07-20T20:17:40.000001Z'), date('1970-01-01'), text(''), null, float64(-0), null, null, null],
  [int64(4n), int16(0), numeric('99999999.9999'), numeric('100.50'), timestamp('1900-01-01T00:00:00Z'), date('1900-02-28'), text('Zürich ✓'), Buffer.from([1]), float64(1e300), null, null, null],
  [int64(5n), null, numeric('-99999999.9999'), numeric('-0.000123'), null, null, null, null, null, null, null, null],
  [int64(6n), null, numeric('0'), numeric('123'), null, null, null, null, null, null, null, null],
];

const EXPECTED: unknown[][] = [
  [1n, -2, 15000n, '0', unixMicros('2024-03-01T12:34:56.789012Z'), 19783, 'AAPL', true, 0.1, '{"a": 1}', '01234567-89ab-cdef-0123-456789abcdef', '00ff'],
  [-9_007_199_254_740_993n, null, -15000n, 'NaN', unixMicros('1999-12-31T23:59:59.999999Z'), -5633, 'comma, "quoted"\nline', false, null, null, null, ''],
  [3n, 32767, 1n, '-123456789012345678901234567890.000000000000000001', unixMicros('1969-07-20T20:17:40.000001Z'), 0, '', null, -0, null, null, null],
  [4n, 0, 999_999_999_999n, '100.50', unixMicros('1900-01-01T00:00:00Z'), -25509, 'Zürich ✓', true, 1e300, null, null, null],
  [5n, null, -999_999_999_999n, '-0.000123', null, null, null, null, null, null, null, null],
  [6n, null, 0n, '123', null, null, null, null, null, null, null, null],
];

// ---- tests ----------------------------------------------------------------------------

describe('binary COPY decoder', () => {
  const stream = copyStream(ROWS);

  it('decodes every supported kind, nulls included, into Arrow batches', () => {
    assert.deepEqual(decodeRows([stream], COLUMNS), EXPECTED);
  });

  it('gives the same rows whatever the chunk boundaries', () => {
    for (let split = 0; split <= stream.length; split++) {
      assert.deepEqual(decodeRows([stream.subarray(0, split), stream.subarray(split)], COLUMNS), EXPECTED, `split at byte ${split}`);
    }
    const bytes = [...stream].map((b) => Buffer.from([b]));
    assert.deepEqual(decodeRows(bytes, COLUMNS), EXPECTED, 'one byte per chunk');
  });

  it('pauses exactly at the batch size, independent of chunking', () => {
    for (const chunks of [[stream], [...stream].map((b) => Buffer.from([b]))]) {
      const sizes = decodeToBatches(chunks, COLUMNS, 4).map((batch) => batch.numRows);
      assert.deepEqual(sizes, [4, 2]);
    }
  });

  it('decodes several COPY streams one after another as one run of rows, batches running across them', () => {
    const builder = new ArrowBatchBuilder('test.t', COLUMNS, 4, 1 << 20);
    const decoder = new CopyBinaryDecoder(COLUMNS.length, builder);
    const batches: unknown[][][] = [];
    for (const [i, part] of [ROWS.slice(0, 3), [], ROWS.slice(3)].entries()) {
      if (i > 0) decoder.nextCopy();
      for (const byte of copyStream(part)) {
        decoder.push(Buffer.from([byte]));
        while (decoder.decode()) batches.push(rowsOf(builder.finish()));
      }
    }
    decoder.finish();
    batches.push(rowsOf(builder.finish()));
    assert.deepEqual(batches.map((rows) => rows.length), [4, 2]);
    assert.deepEqual(batches.flat(), EXPECTED);

    const halfway = new CopyBinaryDecoder(COLUMNS.length, new ArrowBatchBuilder('test.t', COLUMNS, 4, 1 << 20));
    halfway.push(stream.subarray(0, stream.length - 2));
    halfway.decode();
    assert.throws(() => halfway.nextCopy(), /ended in the middle/, 'the next COPY waits for the trailer of the one before');
  });

  it('rejects a stream that stops mid-row or has a bad signature', () => {
    assert.throws(() => decodeRows([stream.subarray(0, stream.length - 3)], COLUMNS), /ended in the middle/);
    assert.throws(() => decodeRows([Buffer.concat([Buffer.from('X'), stream.subarray(1)])], COLUMNS), /bad signature/);
  });

  it('fails clearly on NaN in a DECIMAL column and on infinite timestamps and dates', () => {
    const decimal = [spec('price', Kind.Decimal, { precision: 12, scale: 4 })];
    assert.throws(() => decodeRows([copyStream([[numeric('NaN')]])], decimal), /test\.t, column "price".*NaN/);
    const ts = [spec('at', Kind.TimestampTz)];
    assert.throws(() => decodeRows([copyStream([[int64(0x7fffffffffffffffn)]])], ts), /column "at".*infinite timestamp/);
    assert.throws(() => decodeRows([copyStream([[int64(-0x8000000000000000n)]])], ts), /infinite timestamp/);
    assert.throws(() => decodeRows([copyStream([[int32(0x7fffffff)]])], [spec('day', Kind.Date)]), /infinite date/);
  });

  it('tracks the date range of the tapped column', () => {
    const tap = new DateRangeTap(4, Kind.TimestampTz);
    const builder = new ArrowBatchBuilder('test.t', COLUMNS, 100, 1 << 20);
    const decoder = new CopyBinaryDecoder(COLUMNS.length, builder, [tap]);
    decoder.push(stream);
    decoder.decode();
    assert.deepEqual(tap.range(), ['1900-01-01', '2024-03-01']);
  });

  describe('group spans', () => {
    // Interleaved groups, keys that are prefixes of others or multi-byte, sub-millisecond times around 1970.
    const BARS: [string, string][] = [
      ['B', '2024-03-01T12:00:00Z'],
      ['A', '2024-03-01T12:05:00.0005Z'],
      ['AB', '2024-03-01T12:05:00Z'],
      ['A', '1969-12-31T23:59:59.9995Z'],
      ['B', '2024-03-01T11:55:00Z'],
      ['Zürich ✓', '1970-01-01T00:00:00.0004Z'],
      ['A', '2024-03-01T12:00:00.0004Z'],
      ['B', '2024-03-01T12:10:00.000499Z'],
    ];
    // What PostgreSQL's (extract(epoch from t) * 1000)::bigint gives: halves round away from zero.
    const EXPECTED_SPANS: GroupSpan[] = [
      { group: 'B', first: Date.parse('2024-03-01T11:55:00Z'), last: Date.parse('2024-03-01T12:10:00Z'), rows: 3 },
      { group: 'A', first: Date.parse('1969-12-31T23:59:59.999Z'), last: Date.parse('2024-03-01T12:05:00.001Z'), rows: 3 },
      { group: 'AB', first: Date.parse('2024-03-01T12:05:00Z'), last: Date.parse('2024-03-01T12:05:00Z'), rows: 1 },
      { group: 'Zürich ✓', first: 0, last: 0, rows: 1 },
    ];

    /** Decodes through the CSV writer with the tracker (and a date range on the same time column) tapped in. */
    function spansOf(chunks: Buffer[], columns: ColumnSpec[], groupColumn: number, timeColumn: number): { spans: GroupSpan[]; range: [string, string] | null } {
      const tracker = new GroupSpanTracker(groupColumn, timeColumn);
      const dateRange = new DateRangeTap(timeColumn, Kind.TimestampTz);
      const writer = new CsvRowWriter('test.t', columns);
      const decoder = new CopyBinaryDecoder(columns.length, writer, [dateRange, ...tracker.taps]);
      for (const chunk of chunks) {
        decoder.push(chunk);
        while (decoder.decode()) writer.finish();
      }
      decoder.finish();
      return { spans: tracker.spans(), range: dateRange.range() };
    }

    it('counts rows and finds each group\'s first and last time, whatever the column order and chunking', () => {
      const layouts = [
        { columns: [spec('symbol', Kind.Text), spec('at', Kind.TimestampTz), spec('n', Kind.Int4)], row: (s: string, t: string) => [text(s), timestamp(t), int32(1)] },
        { columns: [spec('at', Kind.TimestampTz), spec('n', Kind.Int4), spec('symbol', Kind.Text)], row: (s: string, t: string) => [timestamp(t), int32(1), text(s)] },
      ];
      for (const [index, layout] of layouts.entries()) {
        const groupColumn = layout.columns.findIndex((column) => column.name === 'symbol');
        const timeColumn = layout.columns.findIndex((column) => column.name === 'at');
        const stream = copyStream(BARS.map(([symbol, at]) => layout.row(symbol, at)));
        for (let split = 0; split <= stream.length; split++) {
          const { spans, range } = spansOf([stream.subarray(0, split), stream.subarray(split)], layout.columns, groupColumn, timeColumn);
          assert.deepEqual(spans, EXPECTED_SPANS, `layout ${index}, split at byte ${split}`);
          assert.deepEqual(range, ['1969-12-31', '2024-03-01'], 'the date range taps the same column');
        }
      }
    });
  });

  it('writes CSV with RFC 4180 quoting, NULL as empty and exact values', () => {
    const csv = decodeCsv([stream.subarray(0, 100), stream.subarray(100)], COLUMNS);
    assert.equal(
      csv,
      [
        'id,small,price,amount,at,day,name,ok,ratio,doc,key,raw',
        '1,-2,1.5,0,2024-03-01T12:34:56.789012Z,2024-03-01,AAPL,true,0.1,"{""a"": 1}",01234567-89ab-cdef-0123-456789abcdef,\\x00ff',
        '-9007199254740993,,-1.5,NaN,1999-12-31T23:59:59.999999Z,1954-07-31,"comma, ""quoted""\nline",false,,,,\\x',
        '3,32767,0.0001,-123456789012345678901234567890.000000000000000001,1969-07-20T20:17:40.000001Z,1970-01-01,"",,-0,,,',
        '4,0,99999999.9999,100.50,1900-01-01T00:00:00.000000Z,1900-02-28,Zürich ✓,true,1e+300,,,',
        '5,,-99999999.9999,-0.000123,,,,,,,,',
        '6,,0,123,,,,,,,,',
        '',
      ].join('\n'),
    );
  });
});

describe('numeric conversion', () => {
  const words = new Uint32Array(4);
  const asDecimal = (literal: string, scale: number): bigint | DecimalStatus => {
    const bytes = numeric(literal);
    const status = numericToDecimal128(new DataView(bytes.buffer, bytes.byteOffset, bytes.length), 0, scale, words, 0);
    if (status !== DecimalStatus.Ok) return status;
    return BigInt.asIntN(128, [...words].reverse().reduce((acc, w) => (acc << 32n) | BigInt(w), 0n));
  };

  it('scales to the column scale, padding and dropping zero digits exactly', () => {
    assert.equal(asDecimal('1.5', 4), 15000n);
    assert.equal(asDecimal('1.25', 2), 125n);
    assert.equal(asDecimal('100', 4), 1_000_000n);
    assert.equal(asDecimal('-0.0001', 4), -1n);
    assert.equal(asDecimal('0', 4), 0n);
    assert.equal(asDecimal('-4294967296', 0), -4294967296n);
  });

  it('handles the full 38-digit range through the 128-bit path', () => {
    assert.equal(asDecimal('99999999999999999999999999999999999999', 0), 10n ** 38n - 1n);
    assert.equal(asDecimal('-9999999999999999999999999999.9999999999', 10), -(10n ** 38n - 1n));
    assert.equal(asDecimal('12345678901234567890.123456', 6), 12345678901234567890123456n);
  });

  it('reports values a DECIMAL cannot hold', () => {
    assert.equal(asDecimal('NaN', 2), DecimalStatus.NotFinite);
    assert.equal(asDecimal('1.234', 2), DecimalStatus.DoesNotFit);
    assert.equal(asDecimal('1' + '0'.repeat(40), 0), DecimalStatus.DoesNotFit);
  });

  it('prints exact text with the display scale', () => {
    for (const literal of ['0', '0.0000', '1.50', '-1.5', '10000', '0.0001', '-0.000123', '123456789.987654321', '1' + '0'.repeat(60), 'NaN']) {
      const bytes = numeric(literal);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      const out = new Uint8Array(numericTextLength(view, 0));
      assert.equal(numericToText(view, 0, out, 0), out.length, literal);
      assert.equal(Buffer.from(out).toString(), literal);
    }
  });
});
