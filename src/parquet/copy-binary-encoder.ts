/**
 * Arrow record batches → PostgreSQL binary COPY, the reverse of arrow-builder.ts: values
 * are read straight from the Arrow buffers and written big-endian into one reused output
 * buffer per batch, with no JS value per field. Each column is encoded for the live
 * column's kind, so the server receives exactly its own type (numeric, timestamptz, ...).
 */
import * as arrow from 'apache-arrow';
import { IntegrityError } from '../errors.js';
import { EPOCH_SHIFT_DAYS, EPOCH_SHIFT_MICROS_HIGH, EPOCH_SHIFT_MICROS_LOW } from './pg-datetime.js';
import { decimal128ToNumeric, numericSize, numericTextMaxSize, numericTextToNumeric } from './pg-numeric-encode.js';
import { Kind } from './pg-types.js';

const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]; // "PGCOPY\n\377\r\n\0"
const TWO_32 = 4294967296;
const JSONB_VERSION = 1;

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

/** One column of a batch as flat buffers, dictionaries resolved to their values. */
interface ColumnView {
  column: EncodedColumn;
  data: arrow.Data;
  validity: Uint8Array | null;
  /** Row index → value index (dictionary keys), or null when direct. */
  keys: ArrayLike<number> | null;
  values: arrow.Data;
  /** Int64 and timestamps as (low, high) int32 pairs. */
  words: Int32Array | null;
  scale: number;
}

export class CopyBinaryEncoder {
  private buffer = Buffer.alloc(1 << 20);
  private view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
  private pos = 0;

  constructor(
    private readonly table: string,
    private readonly columns: EncodedColumn[],
  ) {}

  /** The rows of `batch` (fields in `columns` order) as binary COPY rows, in a buffer of their own (the COPY stream may hold it a while). */
  encode(batch: arrow.RecordBatch): Buffer {
    const views = this.columns.map((column, c) => this.columnView(column, batch.data.children[c]!));
    this.pos = 0;
    for (let row = 0; row < batch.numRows; row++) {
      this.ensure(2);
      this.view.setInt16(this.pos, views.length);
      this.pos += 2;
      for (const column of views) this.field(column, row);
    }
    return Buffer.from(this.buffer.subarray(0, this.pos));
  }

  private columnView(column: EncodedColumn, data: arrow.Data): ColumnView {
    const dictionary = arrow.DataType.isDictionary(data.type);
    const values: arrow.Data = dictionary ? (data.dictionary!.data[0] as arrow.Data) : data;
    if (dictionary && data.dictionary!.data.length !== 1) throw new IntegrityError(`table ${this.table}, column "${column.name}": split dictionaries are not supported`);
    const type = values.type as arrow.DataType;
    if (arrow.DataType.isTimestamp(type) && type.unit !== arrow.TimeUnit.MICROSECOND) {
      throw new IntegrityError(`table ${this.table}, column "${column.name}": timestamps in ${arrow.TimeUnit[type.unit]}, expected MICROSECOND`);
    }
    const wide = column.kind === Kind.Int8 || column.kind === Kind.Timestamp || column.kind === Kind.TimestampTz;
    const raw = values.values as ArrayBufferView;
    return {
      column,
      data,
      validity: data.nullCount > 0 ? data.nullBitmap : null,
      keys: dictionary ? (data.values as ArrayLike<number>) : null,
      values,
      words: wide ? new Int32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4) : null,
      scale: arrow.DataType.isDecimal(type) ? type.scale : 0,
    };
  }

  private field(c: ColumnView, row: number): void {
    const index = c.data.offset + row;
    if (c.validity && (c.validity[index >> 3]! & (1 << (index & 7))) === 0) {
      this.ensure(4);
      this.view.setInt32(this.pos, -1);
      this.pos += 4;
      return;
    }
    const at = c.keys ? c.keys[index]! + c.values.offset : index;
    // Room for the widest fixed value first: ensure() may replace the buffer and its view.
    this.ensure(4 + numericSize(12));
    const view = this.view;
    switch (c.column.kind) {
      case Kind.Bool:
        this.fixed(1);
        view.setUint8(this.pos, ((c.values.values as Uint8Array)[at >> 3]! >> (at & 7)) & 1);
        this.pos += 1;
        return;
      case Kind.Int2:
        this.fixed(2);
        view.setInt16(this.pos, (c.values.values as Int16Array)[at]!);
        this.pos += 2;
        return;
      case Kind.Int4:
        this.fixed(4);
        view.setInt32(this.pos, (c.values.values as Int32Array)[at]!);
        this.pos += 4;
        return;
      case Kind.Date:
        this.fixed(4);
        view.setInt32(this.pos, (c.values.values as Int32Array)[at]! - EPOCH_SHIFT_DAYS);
        this.pos += 4;
        return;
      case Kind.Int8:
        this.fixed(8);
        view.setInt32(this.pos, c.words![2 * at + 1]!);
        view.setInt32(this.pos + 4, c.words![2 * at]!);
        this.pos += 8;
        return;
      case Kind.Timestamp:
      case Kind.TimestampTz: {
        // Unix micros → micros since 2000-01-01, in 32-bit halves with a borrow.
        const low = (c.words![2 * at]! >>> 0) - EPOCH_SHIFT_MICROS_LOW;
        const borrow = low < 0 ? 1 : 0;
        this.fixed(8);
        view.setInt32(this.pos, c.words![2 * at + 1]! - EPOCH_SHIFT_MICROS_HIGH - borrow);
        view.setUint32(this.pos + 4, low + borrow * TWO_32);
        this.pos += 8;
        return;
      }
      case Kind.Float4:
        this.fixed(4);
        view.setFloat32(this.pos, (c.values.values as Float32Array)[at]!);
        this.pos += 4;
        return;
      case Kind.Float8:
        this.fixed(8);
        view.setFloat64(this.pos, (c.values.values as Float64Array)[at]!);
        this.pos += 8;
        return;
      // Either numeric column takes either representation: a snapshot writes an unconstrained one as DECIMAL when exact.
      case Kind.Decimal:
      case Kind.NumericText: {
        if (!arrow.DataType.isDecimal(c.values.type)) return this.variable(c, at, (bytes, start, end) => this.numericText(bytes, start, end));
        const end = decimal128ToNumeric(c.values.values as Uint32Array, 4 * at, c.scale, view, this.pos + 4);
        view.setInt32(this.pos, end - this.pos - 4);
        this.pos = end;
        return;
      }
      case Kind.Uuid:
        return this.variable(c, at, (bytes, start, end) => this.uuid(bytes, start, end));
      case Kind.Jsonb:
        return this.variable(c, at, (bytes, start, end) => this.raw(bytes, start, end, true));
      default:
        return this.variable(c, at, (bytes, start, end) => this.raw(bytes, start, end, false));
    }
  }

  /** Utf8 / Binary value `at`: hands its byte range to `write`, which writes length and bytes. */
  private variable(c: ColumnView, at: number, write: (bytes: Uint8Array, start: number, end: number) => void): void {
    const offsets = c.values.valueOffsets as Int32Array | undefined;
    if (!offsets) throw new IntegrityError(`table ${this.table}, column "${c.column.name}" (${c.column.pgType}) holds ${String(c.values.type)} values, not text`);
    write(c.values.values as Uint8Array, offsets[at]!, offsets[at + 1]!);
  }

  private raw(bytes: Uint8Array, start: number, end: number, jsonb: boolean): void {
    const length = end - start + (jsonb ? 1 : 0);
    this.ensure(4 + length);
    this.view.setInt32(this.pos, length);
    this.pos += 4;
    if (jsonb) this.buffer[this.pos++] = JSONB_VERSION;
    if (end - start <= 32) for (let i = start; i < end; i++) this.buffer[this.pos++] = bytes[i]!;
    else {
      this.buffer.set(bytes.subarray(start, end), this.pos);
      this.pos += end - start;
    }
  }

  private numericText(bytes: Uint8Array, start: number, end: number): void {
    this.ensure(4 + numericTextMaxSize(end - start));
    const stop = numericTextToNumeric(bytes, start, end, this.view, this.pos + 4);
    this.view.setInt32(this.pos, stop - this.pos - 4);
    this.pos = stop;
  }

  private uuid(bytes: Uint8Array, start: number, end: number): void {
    this.ensure(20);
    this.fixed(16);
    let nibbles = 0;
    for (let i = start; i < end && nibbles < 32; i++) {
      const c = bytes[i]!;
      if (c === 0x2d) continue;
      const value = c >= 0x30 && c <= 0x39 ? c - 0x30 : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 ? (c | 0x20) - 0x57 : -1;
      if (value < 0) break;
      if (nibbles % 2 === 0) this.buffer[this.pos + (nibbles >> 1)] = value << 4;
      else this.buffer[this.pos + (nibbles >> 1)]! |= value;
      nibbles++;
    }
    if (nibbles !== 32) throw new IntegrityError(`table ${this.table}: "${new TextDecoder().decode(bytes.subarray(start, end)).slice(0, 40)}" is not a uuid`);
    this.pos += 16;
  }

  /** Writes the length word of a fixed-width field (field() reserved the room). */
  private fixed(length: number): void {
    this.view.setInt32(this.pos, length);
    this.pos += 4;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buffer.length) return;
    const grown = Buffer.alloc(Math.max(this.pos + extra, 2 * this.buffer.length));
    this.buffer.copy(grown, 0, 0, this.pos);
    this.buffer = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }
}
