/**
 * Builds Arrow record batches straight from binary COPY fields into typed arrays: no JS
 * value per field, no BigInt, no string. Buffers are reused from batch to batch, so a
 * finished batch is only valid until the next row is decoded.
 */
import { endianness } from 'node:os';
import * as arrow from 'apache-arrow';
import { IntegrityError } from '../errors.js';
import type { CopyRowSink } from './copy-binary-decoder.js';
import { EPOCH_SHIFT_DAYS, EPOCH_SHIFT_MICROS_HIGH, EPOCH_SHIFT_MICROS_LOW, isInfiniteDate, isInfiniteTimestamp } from './pg-datetime.js';
import { DecimalStatus, numericTextLength, numericToDecimal128, numericToText } from './pg-numeric.js';
import { Kind, type ColumnSpec } from './pg-types.js';

// 64-bit values are written as (low, high) Int32 pairs and decimals as Uint32 words,
// which is Arrow's little-endian layout only on a little-endian machine.
if (endianness() !== 'LE') throw new Error('the Parquet export needs a little-endian machine');

const TWO_32 = 4294967296;
const UUID_TEXT_BYTES = 36;
const HEX = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
const JSONB_VERSION = 1;

function arrowType(column: ColumnSpec): arrow.DataType {
  switch (column.kind) {
    case Kind.Bool: return new arrow.Bool();
    case Kind.Int2: return new arrow.Int16();
    case Kind.Int4: return new arrow.Int32();
    case Kind.Int8: return new arrow.Int64();
    case Kind.Float4: return new arrow.Float32();
    case Kind.Float8: return new arrow.Float64();
    case Kind.Decimal: return new arrow.Decimal(column.scale, column.precision, 128);
    case Kind.Timestamp: return new arrow.Timestamp(arrow.TimeUnit.MICROSECOND);
    case Kind.TimestampTz: return new arrow.Timestamp(arrow.TimeUnit.MICROSECOND, 'UTC');
    case Kind.Date: return new arrow.DateDay();
    case Kind.Bytea: return new arrow.Binary();
    case Kind.NumericText:
    case Kind.Text:
    case Kind.Uuid:
    case Kind.Json:
    case Kind.Jsonb:
      return new arrow.Utf8();
  }
}

function arrowSchema(columns: ColumnSpec[]): arrow.Schema {
  return new arrow.Schema(columns.map((column) => new arrow.Field(column.name, arrowType(column), column.nullable)));
}

/**
 * One column's storage. Every column has every array (unused ones empty) so all instances
 * share one hidden class and the per-field switch stays monomorphic.
 */
class ColumnBuffer {
  readonly validity: Uint8Array;
  nullCount = 0;
  /** Int2. */
  readonly int16: Int16Array;
  /** Int4, Date; Int8 and timestamps as (low, high) pairs. */
  readonly int32: Int32Array;
  readonly float32: Float32Array;
  readonly float64: Float64Array;
  /** Decimal128: four little-endian words per value. */
  readonly uint32: Uint32Array;
  readonly boolBits: Uint8Array;
  /** Variable-width kinds: offsets into bytes. */
  readonly offsets: Int32Array;
  bytes: Uint8Array;
  byteLength = 0;

  constructor(readonly spec: ColumnSpec, readonly type: arrow.DataType, capacity: number) {
    const kind = spec.kind;
    const variable = isVariableWidth(kind);
    this.validity = new Uint8Array((capacity + 7) >> 3);
    this.int16 = new Int16Array(kind === Kind.Int2 ? capacity : 0);
    const words = kind === Kind.Int4 || kind === Kind.Date ? 1 : kind === Kind.Int8 || kind === Kind.Timestamp || kind === Kind.TimestampTz ? 2 : 0;
    this.int32 = new Int32Array(words * capacity);
    this.float32 = new Float32Array(kind === Kind.Float4 ? capacity : 0);
    this.float64 = new Float64Array(kind === Kind.Float8 ? capacity : 0);
    this.uint32 = new Uint32Array(kind === Kind.Decimal ? 4 * capacity : 0);
    this.boolBits = new Uint8Array(kind === Kind.Bool ? (capacity + 7) >> 3 : 0);
    this.offsets = new Int32Array(variable ? capacity + 1 : 0);
    this.bytes = new Uint8Array(variable ? 16 * capacity : 0);
  }

  reset(): void {
    this.validity.fill(0xff);
    this.boolBits.fill(0);
    this.nullCount = 0;
    this.byteLength = 0;
  }

  /** Grows the byte buffer so `extra` more bytes fit. */
  reserve(extra: number): void {
    const required = this.byteLength + extra;
    if (required <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(required, 2 * this.bytes.length));
    grown.set(this.bytes.subarray(0, this.byteLength));
    this.bytes = grown;
  }

  finish(rows: number): arrow.Data {
    const type = this.type;
    const nullBitmap = this.nullCount > 0 ? this.validity.subarray(0, (rows + 7) >> 3) : undefined;
    const common = { type, length: rows, nullCount: this.nullCount, nullBitmap };
    switch (this.spec.kind) {
      case Kind.Bool: return arrow.makeData({ ...common, type: type as arrow.Bool, data: this.boolBits.subarray(0, (rows + 7) >> 3) });
      case Kind.Int2: return arrow.makeData({ ...common, type: type as arrow.Int16, data: this.int16.subarray(0, rows) });
      case Kind.Int4: return arrow.makeData({ ...common, type: type as arrow.Int32, data: this.int32.subarray(0, rows) });
      case Kind.Date: return arrow.makeData({ ...common, type: type as arrow.DateDay, data: this.int32.subarray(0, rows) });
      case Kind.Int8: return arrow.makeData({ ...common, type: type as arrow.Int64, data: asBigInt64(this.int32, rows) });
      case Kind.Timestamp:
      case Kind.TimestampTz:
        return arrow.makeData({ ...common, type: type as arrow.Timestamp, data: asBigInt64(this.int32, rows) });
      case Kind.Float4: return arrow.makeData({ ...common, type: type as arrow.Float32, data: this.float32.subarray(0, rows) });
      case Kind.Float8: return arrow.makeData({ ...common, type: type as arrow.Float64, data: this.float64.subarray(0, rows) });
      case Kind.Decimal: return arrow.makeData({ ...common, type: type as arrow.Decimal, data: this.uint32.subarray(0, 4 * rows) });
      case Kind.Bytea:
        return arrow.makeData({ ...common, type: type as arrow.Binary, valueOffsets: this.offsets.subarray(0, rows + 1), data: this.bytes.subarray(0, this.byteLength) });
      default:
        return arrow.makeData({ ...common, type: type as arrow.Utf8, valueOffsets: this.offsets.subarray(0, rows + 1), data: this.bytes.subarray(0, this.byteLength) });
    }
  }
}

function isVariableWidth(kind: Kind): boolean {
  return kind === Kind.NumericText || kind === Kind.Text || kind === Kind.Uuid || kind === Kind.Json || kind === Kind.Jsonb || kind === Kind.Bytea;
}

function asBigInt64(words: Int32Array, rows: number): BigInt64Array {
  return new BigInt64Array(words.buffer, words.byteOffset, rows);
}

export class ArrowBatchBuilder implements CopyRowSink {
  private readonly columns: ColumnBuffer[];
  readonly schema: arrow.Schema;
  private row = 0;
  /** Bytes held by variable-width columns in this batch. */
  private batchBytes = 0;
  /** The last finished batch still views the buffers; they are cleared when the next row starts. */
  private finishedBatchPending = false;

  /**
   * @param maxRows rows per batch
   * @param maxBytes a batch also ends once its variable-width data passes this, so wide rows cannot blow memory
   */
  constructor(
    private readonly table: string,
    specs: ColumnSpec[],
    private readonly maxRows: number,
    private readonly maxBytes: number,
  ) {
    this.schema = arrowSchema(specs);
    this.columns = specs.map((spec, i) => new ColumnBuffer(spec, this.schema.fields[i].type, maxRows));
    for (const column of this.columns) column.reset();
  }

  get isEmpty(): boolean {
    return this.finishedBatchPending || this.row === 0;
  }

  field(c: number, bytes: Uint8Array, view: DataView, offset: number, length: number): void {
    if (c === 0 && this.finishedBatchPending) this.startBatch();
    const column = this.columns[c];
    const row = this.row;
    if (length < 0) {
      this.setNull(column, row);
      return;
    }
    switch (column.spec.kind) {
      case Kind.Int4:
        column.int32[row] = view.getInt32(offset);
        break;
      case Kind.Int2:
        column.int16[row] = view.getInt16(offset);
        break;
      case Kind.Int8:
        column.int32[2 * row] = view.getInt32(offset + 4);
        column.int32[2 * row + 1] = view.getInt32(offset);
        break;
      case Kind.Float4:
        column.float32[row] = view.getFloat32(offset);
        break;
      case Kind.Float8:
        column.float64[row] = view.getFloat64(offset);
        break;
      case Kind.Bool:
        if (bytes[offset] !== 0) column.boolBits[row >> 3] |= 1 << (row & 7);
        break;
      case Kind.Decimal:
        this.decimal(column, row, view, offset);
        break;
      case Kind.Timestamp:
      case Kind.TimestampTz:
        this.timestamp(column, row, view, offset);
        break;
      case Kind.Date: {
        const days = view.getInt32(offset);
        if (isInfiniteDate(days)) this.fail(column, 'holds an infinite date, which Parquet cannot represent');
        column.int32[row] = days + EPOCH_SHIFT_DAYS;
        break;
      }
      case Kind.Text:
      case Kind.Json:
      case Kind.Bytea:
        this.appendBytes(column, row, bytes, offset, length);
        break;
      case Kind.Jsonb:
        if (bytes[offset] !== JSONB_VERSION) this.fail(column, `has jsonb binary format version ${bytes[offset]}, expected ${JSONB_VERSION}`);
        this.appendBytes(column, row, bytes, offset + 1, length - 1);
        break;
      case Kind.NumericText: {
        const textLength = numericTextLength(view, offset);
        column.reserve(textLength);
        column.byteLength = numericToText(view, offset, column.bytes, column.byteLength);
        column.offsets[row + 1] = column.byteLength;
        this.batchBytes += textLength;
        break;
      }
      case Kind.Uuid:
        this.uuid(column, row, bytes, offset);
        break;
    }
  }

  endRow(): boolean {
    this.row++;
    return this.row >= this.maxRows || this.batchBytes >= this.maxBytes;
  }

  /** The rows so far as a record batch, valid until the next row is decoded. */
  finish(): arrow.RecordBatch {
    const rows = this.row;
    const children = this.columns.map((column) => column.finish(rows));
    this.finishedBatchPending = true;
    return new arrow.RecordBatch(this.schema, arrow.makeData({ type: new arrow.Struct(this.schema.fields), length: rows, nullCount: 0, children }));
  }

  private startBatch(): void {
    for (const column of this.columns) column.reset();
    this.row = 0;
    this.batchBytes = 0;
    this.finishedBatchPending = false;
  }

  private setNull(column: ColumnBuffer, row: number): void {
    if (!column.spec.nullable) this.fail(column, 'is NOT NULL but COPY sent a NULL');
    column.validity[row >> 3] &= ~(1 << (row & 7));
    column.nullCount++;
    if (column.offsets.length > 0) column.offsets[row + 1] = column.byteLength;
  }

  private decimal(column: ColumnBuffer, row: number, view: DataView, offset: number): void {
    const status = numericToDecimal128(view, offset, column.spec.scale, column.uint32, 4 * row);
    if (status === DecimalStatus.NotFinite) this.fail(column, `holds NaN or Infinity, which DECIMAL(${column.spec.precision},${column.spec.scale}) cannot represent`);
    if (status === DecimalStatus.DoesNotFit) this.fail(column, `holds a value that does not fit DECIMAL(${column.spec.precision},${column.spec.scale})`);
  }

  private timestamp(column: ColumnBuffer, row: number, view: DataView, offset: number): void {
    const high = view.getInt32(offset);
    const low = view.getUint32(offset + 4);
    if (isInfiniteTimestamp(high, low)) this.fail(column, 'holds an infinite timestamp, which Parquet cannot represent');
    const sum = low + EPOCH_SHIFT_MICROS_LOW;
    const carry = sum >= TWO_32 ? 1 : 0;
    column.int32[2 * row] = sum | 0;
    column.int32[2 * row + 1] = (high + EPOCH_SHIFT_MICROS_HIGH + carry) | 0;
  }

  private appendBytes(column: ColumnBuffer, row: number, bytes: Uint8Array, offset: number, length: number): void {
    column.reserve(length);
    const target = column.bytes;
    let at = column.byteLength;
    // Short values (symbols, codes) copy faster by hand than through subarray + set.
    if (length <= 32) {
      for (let i = 0; i < length; i++) target[at + i] = bytes[offset + i];
    } else {
      target.set(bytes.subarray(offset, offset + length), at);
    }
    at += length;
    column.byteLength = at;
    column.offsets[row + 1] = at;
    this.batchBytes += length;
  }

  private uuid(column: ColumnBuffer, row: number, bytes: Uint8Array, offset: number): void {
    column.reserve(UUID_TEXT_BYTES);
    const target = column.bytes;
    let at = column.byteLength;
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) target[at++] = 0x2d; // '-'
      const byte = bytes[offset + i];
      target[at++] = HEX[byte >> 4];
      target[at++] = HEX[byte & 15];
    }
    column.byteLength = at;
    column.offsets[row + 1] = at;
    this.batchBytes += UUID_TEXT_BYTES;
  }

  private fail(column: ColumnBuffer, problem: string): never {
    throw new IntegrityError(`table ${this.table}, column "${column.spec.name}" (${column.spec.pgType}) ${problem}`);
  }
}
