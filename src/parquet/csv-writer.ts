/**
 * Turns binary COPY rows into CSV text (the caller gzips it): a header row, RFC 4180
 * quoting, NULL as an empty unquoted field and the empty string as "", LF line ends.
 * Values print so a reader gets them back exactly: numerics as PostgreSQL's exact text,
 * timestamps as ISO 8601 with microseconds (Z for timestamptz), booleans as true/false,
 * bytea as PostgreSQL's \x hex.
 */
import { IntegrityError } from '../errors.js';
import type { CopyRowSink } from './copy-binary-decoder.js';
import { EPOCH_SHIFT_DAYS, isInfiniteDate, isInfiniteTimestamp, isoDate, isoTimestamp } from './pg-datetime.js';
import { numericTextLength, numericToText } from './pg-numeric.js';
import { Kind, type ColumnSpec } from './pg-types.js';

/** Output is handed on in chunks of about this size. */
const CHUNK_BYTES = 1 << 20;
const COMMA = 0x2c;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const HEX = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
const JSONB_VERSION = 1;
const utf8 = new TextEncoder();

export class CsvRowWriter implements CopyRowSink {
  private buffer = new Uint8Array(2 * CHUNK_BYTES);
  private length = 0;

  constructor(
    private readonly table: string,
    private readonly columns: ColumnSpec[],
  ) {
    columns.forEach((column, i) => {
      if (i > 0) this.byte(COMMA);
      const name = utf8.encode(column.name);
      this.quoted(name, 0, name.length);
    });
    this.byte(LF);
  }

  get isEmpty(): boolean {
    return this.length === 0;
  }

  field(c: number, bytes: Uint8Array, view: DataView, offset: number, length: number): void {
    if (c > 0) this.byte(COMMA);
    if (length < 0) return;
    const column = this.columns[c];
    switch (column.kind) {
      case Kind.Bool:
        this.ascii(bytes[offset] !== 0 ? 'true' : 'false');
        break;
      case Kind.Int2:
        this.ascii(String(view.getInt16(offset)));
        break;
      case Kind.Int4:
        this.ascii(String(view.getInt32(offset)));
        break;
      case Kind.Int8:
        this.ascii(String(view.getBigInt64(offset)));
        break;
      case Kind.Float4:
        this.ascii(shortestFloat32(view.getFloat32(offset)));
        break;
      case Kind.Float8:
        this.ascii(floatText(view.getFloat64(offset)));
        break;
      case Kind.Decimal:
      case Kind.NumericText:
        this.reserve(numericTextLength(view, offset));
        this.length = numericToText(view, offset, this.buffer, this.length);
        break;
      case Kind.Timestamp:
      case Kind.TimestampTz: {
        const high = view.getInt32(offset);
        const low = view.getUint32(offset + 4);
        if (isInfiniteTimestamp(high, low)) this.fail(column, 'holds an infinite timestamp');
        this.ascii(column.kind === Kind.TimestampTz ? `${isoTimestamp(high, low)}Z` : isoTimestamp(high, low));
        break;
      }
      case Kind.Date: {
        const days = view.getInt32(offset);
        if (isInfiniteDate(days)) this.fail(column, 'holds an infinite date');
        this.ascii(isoDate(days + EPOCH_SHIFT_DAYS));
        break;
      }
      case Kind.Text:
      case Kind.Json:
        this.quoted(bytes, offset, length);
        break;
      case Kind.Jsonb:
        if (bytes[offset] !== JSONB_VERSION) this.fail(column, `has jsonb binary format version ${bytes[offset]}`);
        this.quoted(bytes, offset + 1, length - 1);
        break;
      case Kind.Uuid:
        this.hex(bytes, offset, 16, [4, 6, 8, 10]);
        break;
      case Kind.Bytea:
        this.ascii('\\x');
        this.hex(bytes, offset, length, []);
        break;
    }
  }

  endRow(): boolean {
    this.byte(LF);
    return this.length >= CHUNK_BYTES;
  }

  /** The text so far; the writer starts over. */
  finish(): Uint8Array {
    const chunk = this.buffer.slice(0, this.length);
    this.length = 0;
    return chunk;
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.length + extra, 2 * this.buffer.length));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  private byte(code: number): void {
    this.reserve(1);
    this.buffer[this.length++] = code;
  }

  private ascii(text: string): void {
    this.reserve(text.length);
    for (let i = 0; i < text.length; i++) this.buffer[this.length++] = text.charCodeAt(i);
  }

  /** Quotes only when needed, and always for the empty string so it differs from NULL. */
  private quoted(bytes: Uint8Array, offset: number, length: number): void {
    let special = length === 0;
    for (let i = offset; i < offset + length && !special; i++) {
      const b = bytes[i];
      special = b === COMMA || b === QUOTE || b === LF || b === CR;
    }
    if (!special) {
      this.reserve(length);
      this.buffer.set(bytes.subarray(offset, offset + length), this.length);
      this.length += length;
      return;
    }
    this.reserve(2 * length + 2);
    const out = this.buffer;
    out[this.length++] = QUOTE;
    for (let i = offset; i < offset + length; i++) {
      if (bytes[i] === QUOTE) out[this.length++] = QUOTE;
      out[this.length++] = bytes[i];
    }
    out[this.length++] = QUOTE;
  }

  /** Lowercase hex of `length` bytes, with '-' before the listed byte positions (uuid layout). */
  private hex(bytes: Uint8Array, offset: number, length: number, dashesBefore: number[]): void {
    this.reserve(2 * length + dashesBefore.length);
    const out = this.buffer;
    for (let i = 0; i < length; i++) {
      if (dashesBefore.includes(i)) out[this.length++] = 0x2d;
      const b = bytes[offset + i];
      out[this.length++] = HEX[b >> 4];
      out[this.length++] = HEX[b & 15];
    }
  }

  private fail(column: ColumnSpec, problem: string): never {
    throw new IntegrityError(`table ${this.table}, column "${column.name}" (${column.pgType}) ${problem}, which CSV export does not support`);
  }
}

/** float4 as PostgreSQL prints it (shortest text that reads back to the same float4), e.g. 0.1 rather than 0.100000001. */
function shortestFloat32(value: number): string {
  if (!Number.isFinite(value) || value === 0) return floatText(value);
  for (let digits = 1; digits < 9; digits++) {
    const text = value.toPrecision(digits);
    if (Math.fround(Number(text)) === value) return String(Number(text));
  }
  return String(value);
}

/** Shortest text that reads back to the same double; keeps the sign of -0, which String() drops. */
function floatText(value: number): string {
  return Object.is(value, -0) ? '-0' : String(value);
}
