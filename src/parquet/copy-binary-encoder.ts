/**
 * Arrow record batches → PostgreSQL binary COPY, the reverse of arrow-builder.ts: values
 * are read straight from the Arrow buffers and written big-endian into one reused output
 * buffer per batch, with no JS value per field. Each column is encoded for the live
 * column's kind, so the server receives exactly its own type (numeric, timestamptz, ...).
 *
 * The hot loop calls one writer per column, chosen once per batch for the column's kind
 * and layout, into a buffer sized for the whole batch up front, so no field checks room.
 */
import * as arrow from 'apache-arrow';
import { IntegrityError } from '../errors.js';
import { EPOCH_SHIFT_DAYS, EPOCH_SHIFT_MICROS_HIGH, EPOCH_SHIFT_MICROS_LOW } from './pg-datetime.js';
import { decimal128ToNumeric, numericSize, numericTextMaxSize, numericTextToNumeric } from './pg-numeric-encode.js';
import { Kind } from './pg-types.js';

const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]; // "PGCOPY\n\377\r\n\0"
const TWO_32 = 4294967296;
const JSONB_VERSION = 1;
/** Length word + the widest numeric a Decimal128 gives (39 digits plus the scale padding). */
const DECIMAL_FIELD_MAX = 4 + numericSize(12);
/** numericTextMaxSize(n) <= NUMERIC_TEXT_OVERHEAD + n for any text length n. */
const NUMERIC_TEXT_OVERHEAD = numericTextMaxSize(0) + 2;
/** Values up to this many bytes are copied byte by byte: cheaper than a subarray for short text. */
const SHORT_VALUE = 32;

/** Signature, flags and an empty header extension. */
export function copyBinaryHeader(): Buffer {
  const header = Buffer.alloc(SIGNATURE.length + 8);
  header.set(SIGNATURE);
  return header;
}

/** The field count -1 that ends the data. */
export function copyBinaryTrailer(): Buffer {
  return Buffer.from([0xff, 0xff]);
}

export interface EncodedColumn {
  name: string;
  /** The live column's kind: what the server expects to receive. */
  kind: Kind;
  /** For messages. */
  pgType: string;
}

/** Writes one field (length word and value) at `pos`; returns the position after it. */
type FieldWriter = (row: number, pos: number) => number;
/** The same for the value at index `at` of a column's values (a dictionary's entries, or the column itself). */
type ValueWriter = (at: number, pos: number) => number;

/** The output of one batch: a buffer with room for all of it, and a view over it. */
interface Output {
  bytes: Buffer;
  view: DataView;
}

/**
 * One column of a batch. Arrow slices value and offset buffers with the batch, so values
 * are indexed from 0; the validity bitmap and boolean bits are not, so they add `offset`.
 */
interface ColumnData {
  column: EncodedColumn;
  data: arrow.Data;
  /** The values: the dictionary's for a dictionary column, else the column itself. */
  values: arrow.Data;
  /** Row → value index, for a dictionary column. */
  keys: ArrayLike<number> | null;
}

/** A batch encoded into a caller's buffer: the buffer (a new, larger one when the given one had no room) and the end of the rows in it. */
export interface Encoded {
  buffer: Buffer;
  end: number;
}

export class CopyBinaryEncoder {
  constructor(
    private readonly table: string,
    private readonly columns: EncodedColumn[],
  ) {}

  /**
   * The rows of `batch` (fields in `columns` order) as binary COPY rows, written from the
   * start of `target`, or of a new buffer when `target` has no room for the batch's bound.
   * The caller reuses the buffer once the bytes are sent, so a load allocates nothing per batch.
   */
  encode(batch: arrow.RecordBatch, target: Buffer): Encoded {
    const rows = batch.numRows;
    const columns = this.columns.map((column, c) => this.columnData(column, batch.data.children[c]!));
    const bound = columns.reduce((sum, column) => sum + this.maxBytes(column, rows), 2 * rows);
    const buffer = bound > target.length ? Buffer.allocUnsafe(Math.max(bound, 2 * target.length)) : target;
    const out: Output = { bytes: buffer, view: new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength) };
    const writers = columns.map((column) => this.fieldWriter(column, out));
    const view = out.view;
    const count = writers.length;
    let pos = 0;
    for (let row = 0; row < rows; row++) {
      view.setInt16(pos, count);
      pos += 2;
      for (let c = 0; c < count; c++) pos = writers[c]!(row, pos);
    }
    return { buffer, end: pos };
  }

  private columnData(column: EncodedColumn, data: arrow.Data): ColumnData {
    const dictionary = arrow.DataType.isDictionary(data.type);
    if (dictionary && data.dictionary!.data.length !== 1) throw new IntegrityError(`table ${this.table}, column "${column.name}": split dictionaries are not supported`);
    const values: arrow.Data = dictionary ? (data.dictionary!.data[0] as arrow.Data) : data;
    const type = values.type as arrow.DataType;
    if (arrow.DataType.isTimestamp(type) && type.unit !== arrow.TimeUnit.MICROSECOND) {
      throw new IntegrityError(`table ${this.table}, column "${column.name}": timestamps in ${arrow.TimeUnit[type.unit]}, expected MICROSECOND`);
    }
    if (isVariable(column, values) && !values.valueOffsets) {
      throw new IntegrityError(`table ${this.table}, column "${column.name}" (${column.pgType}) holds ${String(values.type)} values, not text`);
    }
    return { column, data, values, keys: dictionary ? (data.values as ArrayLike<number>) : null };
  }

  /** An upper bound of the bytes `rows` fields of the column take (a NULL takes 4, less than any value). */
  private maxBytes({ column, values, keys, data }: ColumnData, rows: number): number {
    switch (column.kind) {
      case Kind.Bool:
        return 5 * rows;
      case Kind.Int2:
        return 6 * rows;
      case Kind.Int4:
      case Kind.Date:
      case Kind.Float4:
        return 8 * rows;
      case Kind.Int8:
      case Kind.Timestamp:
      case Kind.TimestampTz:
      case Kind.Float8:
        return 12 * rows;
      case Kind.Uuid:
        return 20 * rows;
      case Kind.Decimal:
      case Kind.NumericText:
        return isVariable(column, values) ? rows * (4 + NUMERIC_TEXT_OVERHEAD) + textBytes(data, values, keys, rows) : rows * DECIMAL_FIELD_MAX;
      default:
        return rows * (column.kind === Kind.Jsonb ? 5 : 4) + textBytes(data, values, keys, rows);
    }
  }

  private fieldWriter(column: ColumnData, out: Output): FieldWriter {
    const { data, keys } = column;
    const value = this.valueWriter(column, out);
    const field: FieldWriter = keys ? (row, pos) => value(keys[row]!, pos) : value;
    if (data.nullCount === 0) return field;
    const validity = data.nullBitmap!;
    const offset = data.offset;
    const view = out.view;
    return (row, pos) => {
      const bit = offset + row;
      if ((validity[bit >> 3]! & (1 << (bit & 7))) !== 0) return field(row, pos);
      view.setInt32(pos, -1);
      return pos + 4;
    };
  }

  private valueWriter({ column, values }: ColumnData, out: Output): ValueWriter {
    const { bytes: buffer, view } = out;
    switch (column.kind) {
      case Kind.Bool: {
        const bits = values.values as Uint8Array;
        const offset = values.offset;
        return (at, pos) => {
          const bit = offset + at;
          view.setInt32(pos, 1);
          buffer[pos + 4] = (bits[bit >> 3]! >> (bit & 7)) & 1;
          return pos + 5;
        };
      }
      case Kind.Int2: {
        const shorts = values.values as Int16Array;
        return (at, pos) => {
          view.setInt32(pos, 2);
          view.setInt16(pos + 4, shorts[at]!);
          return pos + 6;
        };
      }
      case Kind.Int4:
      case Kind.Date: {
        const ints = values.values as Int32Array;
        const shift = column.kind === Kind.Date ? EPOCH_SHIFT_DAYS : 0;
        return (at, pos) => {
          view.setInt32(pos, 4);
          view.setInt32(pos + 4, ints[at]! - shift);
          return pos + 8;
        };
      }
      case Kind.Float4: {
        const floats = values.values as Float32Array;
        return (at, pos) => {
          view.setInt32(pos, 4);
          view.setFloat32(pos + 4, floats[at]!);
          return pos + 8;
        };
      }
      case Kind.Float8: {
        const doubles = values.values as Float64Array;
        return (at, pos) => {
          view.setInt32(pos, 8);
          view.setFloat64(pos + 4, doubles[at]!);
          return pos + 12;
        };
      }
      case Kind.Int8: {
        const words = int32Words(values);
        return (at, pos) => {
          view.setInt32(pos, 8);
          view.setInt32(pos + 4, words[2 * at + 1]!);
          view.setInt32(pos + 8, words[2 * at]!);
          return pos + 12;
        };
      }
      case Kind.Timestamp:
      case Kind.TimestampTz: {
        // Unix micros → micros since 2000-01-01, in 32-bit halves with a borrow.
        const words = int32Words(values);
        return (at, pos) => {
          const low = (words[2 * at]! >>> 0) - EPOCH_SHIFT_MICROS_LOW;
          const borrow = low < 0 ? 1 : 0;
          view.setInt32(pos, 8);
          view.setInt32(pos + 4, words[2 * at + 1]! - EPOCH_SHIFT_MICROS_HIGH - borrow);
          view.setUint32(pos + 8, low + borrow * TWO_32);
          return pos + 12;
        };
      }
      // Either numeric column takes either representation: a snapshot writes an unconstrained one as DECIMAL when exact.
      case Kind.Decimal:
      case Kind.NumericText: {
        if (isVariable(column, values)) {
          return this.textWriter(values, (bytes, start, end, pos) => {
            const stop = numericTextToNumeric(bytes, start, end, view, pos + 4);
            view.setInt32(pos, stop - pos - 4);
            return stop;
          });
        }
        const decimals = values.values as Uint32Array;
        const scale = (values.type as arrow.Decimal).scale;
        return (at, pos) => {
          const end = decimal128ToNumeric(decimals, 4 * at, scale, view, pos + 4);
          view.setInt32(pos, end - pos - 4);
          return end;
        };
      }
      case Kind.Uuid:
        return this.textWriter(values, (bytes, start, end, pos) => this.uuid(bytes, start, end, buffer, view, pos));
      default: {
        const prefix = column.kind === Kind.Jsonb ? 1 : 0;
        return this.textWriter(values, (bytes, start, end, pos) => {
          view.setInt32(pos, end - start + prefix);
          pos += 4;
          if (prefix) buffer[pos++] = JSONB_VERSION;
          if (end - start <= SHORT_VALUE) {
            for (let i = start; i < end; i++) buffer[pos++] = bytes[i]!;
            return pos;
          }
          buffer.set(bytes.subarray(start, end), pos);
          return pos + end - start;
        });
      }
    }
  }

  /** A Utf8 / Binary column's value `at` as its byte range, handed to `write`. */
  private textWriter(values: arrow.Data, write: (bytes: Uint8Array, start: number, end: number, pos: number) => number): ValueWriter {
    const offsets = values.valueOffsets as Int32Array;
    const bytes = values.values as Uint8Array;
    return (at, pos) => write(bytes, offsets[at]!, offsets[at + 1]!, pos);
  }

  private uuid(bytes: Uint8Array, start: number, end: number, buffer: Buffer, view: DataView, pos: number): number {
    view.setInt32(pos, 16);
    pos += 4;
    let nibbles = 0;
    for (let i = start; i < end && nibbles < 32; i++) {
      const c = bytes[i]!;
      if (c === 0x2d) continue;
      const value = c >= 0x30 && c <= 0x39 ? c - 0x30 : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 ? (c | 0x20) - 0x57 : -1;
      if (value < 0) break;
      if (nibbles % 2 === 0) buffer[pos + (nibbles >> 1)] = value << 4;
      else buffer[pos + (nibbles >> 1)]! |= value;
      nibbles++;
    }
    if (nibbles !== 32) throw new IntegrityError(`table ${this.table}: "${new TextDecoder().decode(bytes.subarray(start, end)).slice(0, 40)}" is not a uuid`);
    return pos + 16;
  }
}

/** 64-bit values as (low, high) int32 pairs, so the hot loop never creates a BigInt. */
function int32Words(values: arrow.Data): Int32Array {
  const raw = values.values as BigInt64Array;
  return new Int32Array(raw.buffer, raw.byteOffset, 2 * raw.length);
}

/** Does the column arrive as text or bytes (offsets + data), rather than fixed-width values? */
function isVariable(column: EncodedColumn, values: arrow.Data): boolean {
  switch (column.kind) {
    case Kind.Decimal:
    case Kind.NumericText:
      return !arrow.DataType.isDecimal(values.type);
    case Kind.Uuid:
    case Kind.Text:
    case Kind.Json:
    case Kind.Jsonb:
    case Kind.Bytea:
      return true;
    default:
      return false;
  }
}

/** The bytes of the non-null text values of `rows` rows (through `keys` for a dictionary). */
function textBytes(data: arrow.Data, values: arrow.Data, keys: ArrayLike<number> | null, rows: number): number {
  const offsets = values.valueOffsets as Int32Array;
  if (!keys) return offsets[rows]! - offsets[0]!;
  const validity = data.nullCount > 0 ? data.nullBitmap! : null;
  const offset = data.offset;
  let total = 0;
  for (let row = 0; row < rows; row++) {
    const bit = offset + row;
    if (validity && (validity[bit >> 3]! & (1 << (bit & 7))) === 0) continue;
    const at = keys[row]!;
    total += offsets[at + 1]! - offsets[at]!;
  }
  return total;
}
