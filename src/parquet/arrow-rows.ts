/**
 * Row-wise access to Parquet files for the snapshot diff: a cursor over the rows of a file
 * (batch by batch, through the restore's reader, so memory is about one row group), and
 * comparisons straight on the Arrow buffers. Values are equal when their stored bytes are
 * (the canonical Parquet representation both sides share); keys are ordered like
 * PostgreSQL orders the column types: signed integers, dates, timestamps and decimals by
 * value, text and bytea by bytes (the "C" collation), NULLs last.
 */
import * as arrow from 'apache-arrow';
import type { RowComparison, RowCursor, ValueChange } from '../domain/snapshot-diff.js';
import { IntegrityError } from '../errors.js';
import { readParquetBatches } from './parquet-reader.js';

/** Longer text and binary values are cut in samples, which travel in a workflow result. */
const SAMPLE_VALUE_CHARS = 200;
const MICROS_PER_MS = 1000n;
const MS_PER_DAY = 86_400_000;

/** One column of one batch, dictionaries resolved, as flat buffers. */
class ColumnView {
  private readonly validity: Uint8Array | null;
  private readonly offset: number;
  private readonly keys: ArrayLike<number> | null;
  private readonly values: arrow.Data;
  private readonly bytes: Uint8Array;
  /** Bytes per fixed-width value; 0 for variable width, -1 for bits (Bool). */
  private readonly width: number;
  private readonly offsets: Int32Array | null;
  private readonly floats: Float32Array | Float64Array | null;
  /** Equal for columns whose stored bytes compare alike (a DECIMAL's precision does not matter, its scale does). */
  private readonly representation: string;

  constructor(
    readonly name: string,
    data: arrow.Data,
  ) {
    const dictionary = arrow.DataType.isDictionary(data.type);
    if (dictionary && data.dictionary!.data.length !== 1) throw new IntegrityError(`column "${name}": split dictionaries are not supported`);
    this.values = dictionary ? (data.dictionary!.data[0] as arrow.Data) : data;
    this.keys = dictionary ? (data.values as ArrayLike<number>) : null;
    this.validity = data.nullCount > 0 ? data.nullBitmap : null;
    this.offset = data.offset;
    const type = this.values.type as arrow.DataType;
    const raw = this.values.values as ArrayBufferView;
    this.bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
    this.offsets = (this.values.valueOffsets as Int32Array | undefined) ?? null;
    this.floats = arrow.DataType.isFloat(type) ? (raw as Float32Array | Float64Array) : null;
    this.representation = arrow.DataType.isDecimal(type) ? `decimal/${type.scale}` : String(type);
    this.width = arrow.DataType.isBool(type) ? -1 : this.offsets ? 0 : (raw as Uint8Array).BYTES_PER_ELEMENT * this.values.stride;
    if (this.offsets && !(this.offsets instanceof Int32Array)) throw new IntegrityError(`column "${name}": ${String(type)} values are not supported`);
  }

  get type(): arrow.DataType {
    return this.values.type as arrow.DataType;
  }

  /** Index into the value buffers of row `row`, or -1 for NULL. */
  at(row: number): number {
    const index = this.offset + row;
    if (this.validity && (this.validity[index >> 3]! & (1 << (index & 7))) === 0) return -1;
    return this.keys ? this.keys[index]! + this.values.offset : index;
  }

  /**
   * Same bytes (both NULL counts as equal: it is the same stored value). Across two
   * representations (a numeric written as text in one version, as a DECIMAL in the next),
   * the same text as PostgreSQL prints it.
   */
  equal(a: number, other: ColumnView, b: number): boolean {
    if (a < 0 || b < 0) return a === b;
    if (this.representation !== other.representation) return this.text(a, Infinity) === other.text(b, Infinity);
    if (this.width === -1) return this.bit(a) === other.bit(b);
    const [start, end] = this.range(a);
    const [otherStart, otherEnd] = other.range(b);
    if (end - start !== otherEnd - otherStart) return false;
    for (let i = 0; i < end - start; i++) if (this.bytes[start + i] !== other.bytes[otherStart + i]) return false;
    return true;
  }

  /** Key order of value `a` against `other`'s value `b` (same column type). */
  compare(a: number, other: ColumnView, b: number): number {
    if (a < 0 || b < 0) return a < 0 ? (b < 0 ? 0 : 1) : -1;
    if (this.width === -1) return this.bit(a) - other.bit(b);
    if (this.floats) return compareFloats(this.floats[a]!, other.floats![b]!);
    const [start, end] = this.range(a);
    const [otherStart, otherEnd] = other.range(b);
    if (this.width === 0) {
      const common = Math.min(end - start, otherEnd - otherStart);
      for (let i = 0; i < common; i++) {
        const d = this.bytes[start + i]! - other.bytes[otherStart + i]!;
        if (d !== 0) return d;
      }
      return end - start - (otherEnd - otherStart);
    }
    // Little-endian two's complement: the most significant byte signed, the rest unsigned.
    const top = (this.bytes[end - 1]! ^ 0x80) - (other.bytes[otherEnd - 1]! ^ 0x80);
    if (top !== 0) return top;
    for (let i = end - start - 2; i >= 0; i--) {
      const d = this.bytes[start + i]! - other.bytes[otherStart + i]!;
      if (d !== 0) return d;
    }
    return 0;
  }

  /** The value as text, as PostgreSQL would print it (cut past `limit` characters); null for NULL. */
  text(at: number, limit = SAMPLE_VALUE_CHARS): string | null {
    if (at < 0) return null;
    const type = this.type;
    if (this.width === -1) return this.bit(at) ? 'true' : 'false';
    if (this.floats) return String(this.floats[at]);
    const [start, end] = this.range(at);
    if (arrow.DataType.isUtf8(type)) return cut(new TextDecoder().decode(this.bytes.subarray(start, Math.min(end, start + 4 * limit))), limit);
    if (this.width === 0) return cut(`\\x${Buffer.from(this.bytes.subarray(start, Math.min(end, start + limit))).toString('hex')}`, limit);
    let value = 0n;
    for (let i = end - 1; i >= start; i--) value = (value << 8n) | BigInt(this.bytes[i]!);
    value = BigInt.asIntN(8 * (end - start), value);
    if (arrow.DataType.isDecimal(type)) return decimalText(value, type.scale);
    if (arrow.DataType.isTimestamp(type)) return timestampText(value, type.unit, type.timezone !== null && type.timezone !== undefined);
    if (arrow.DataType.isDate(type)) return new Date(type.unit === arrow.DateUnit.DAY ? Number(value) * MS_PER_DAY : Number(value)).toISOString().slice(0, 10);
    return value.toString();
  }

  private bit(at: number): number {
    return (this.bytes[at >> 3]! >> (at & 7)) & 1;
  }

  private range(at: number): [number, number] {
    if (this.offsets) return [this.offsets[at]!, this.offsets[at + 1]!];
    return [at * this.width, (at + 1) * this.width];
  }
}

/** PostgreSQL's float order: NaN after every number, -0 equal to 0. */
function compareFloats(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number(Number.isNaN(a)) - Number(Number.isNaN(b));
  return a < b ? -1 : a > b ? 1 : 0;
}

function decimalText(unscaled: bigint, scale: number): string {
  const digits = (unscaled < 0n ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return unscaled < 0n ? `-${text}` : text;
}

function timestampText(value: bigint, unit: arrow.TimeUnit, utc: boolean): string {
  const micros = unit === arrow.TimeUnit.MICROSECOND ? value : unit === arrow.TimeUnit.MILLISECOND ? value * MICROS_PER_MS : unit === arrow.TimeUnit.SECOND ? value * 1_000_000n : value / MICROS_PER_MS;
  const ms = micros / MICROS_PER_MS - (micros % MICROS_PER_MS < 0n ? 1n : 0n);
  const iso = new Date(Number(ms)).toISOString();
  // Like PostgreSQL prints it: trailing zeros of the fraction dropped.
  const fraction = `${iso.slice(20, 23)}${(micros - ms * MICROS_PER_MS).toString().padStart(3, '0')}`.replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''}${utc ? '+00' : ''}`;
}

function cut(text: string, limit: number): string {
  return text.length > limit ? `${text.slice(0, limit)}…` : text;
}

/** A row: the columns of its batch (key columns first, then the compared values) and its index. */
export interface ArrowRow {
  columns: ColumnView[];
  index: number;
}

/** The rows of a Parquet file, reading only `columns` (key columns first). */
export class ParquetRowCursor implements RowCursor<ArrowRow> {
  current: ArrowRow = { columns: [], index: -1 };
  previous: ArrowRow | null = null;
  /** The spare row object, swapped with `current`, so stepping allocates nothing. */
  private spare: ArrowRow = { columns: [], index: -1 };
  private rowsInBatch = 0;
  private readonly batches: AsyncGenerator<arrow.RecordBatch>;

  /** `paths` are read one after the other, as one sequence of rows (a split table's parts in key order). */
  constructor(paths: string[], private readonly columns: string[]) {
    this.batches = batchesOf(paths, columns);
  }

  advance(): boolean | Promise<boolean> {
    const next = this.spare;
    next.columns = this.current.columns;
    next.index = this.current.index + 1;
    if (next.index < this.rowsInBatch) return this.step(next);
    return this.nextBatch(next);
  }

  /** Ends the read early (the file handle is freed). */
  async close(): Promise<void> {
    await this.batches.return(undefined);
  }

  private step(next: ArrowRow): true {
    this.spare = this.previous ?? { columns: [], index: -1 };
    this.previous = this.current.index < 0 ? null : this.current;
    this.current = next;
    return true;
  }

  private async nextBatch(next: ArrowRow): Promise<boolean> {
    for (;;) {
      const batch = await this.batches.next();
      if (batch.done) return false;
      if (batch.value.numRows === 0) continue;
      this.rowsInBatch = batch.value.numRows;
      next.columns = this.columns.map((name, c) => new ColumnView(name, batch.value.data.children[c]!));
      next.index = 0;
      return this.step(next);
    }
  }
}

/** Key and value comparisons of rows read with ParquetRowCursor, the first `keyCount` columns being the key. */
export function arrowRowComparison(keyCount: number): RowComparison<ArrowRow> {
  const describe = (row: ArrowRow, from: number, to: number): Record<string, string | null> =>
    Object.fromEntries(row.columns.slice(from, to).map((column) => [column.name, column.text(column.at(row.index))]));
  return {
    compareKeys(a, b) {
      for (let c = 0; c < keyCount; c++) {
        const order = a.columns[c]!.compare(a.columns[c]!.at(a.index), b.columns[c]!, b.columns[c]!.at(b.index));
        if (order !== 0) return order;
      }
      return 0;
    },
    sameValues(a, b) {
      for (let c = keyCount; c < a.columns.length; c++) {
        if (!a.columns[c]!.equal(a.columns[c]!.at(a.index), b.columns[c]!, b.columns[c]!.at(b.index))) return false;
      }
      return true;
    },
    describeKey: (row) => describe(row, 0, keyCount),
    changedColumns(older, newer) {
      const changes: Record<string, ValueChange> = {};
      for (let c = keyCount; c < older.columns.length; c++) {
        const [a, b] = [older.columns[c]!, newer.columns[c]!];
        const [i, j] = [a.at(older.index), b.at(newer.index)];
        if (!a.equal(i, b, j)) changes[a.name] = [a.text(i), b.text(j)];
      }
      return changes;
    },
  };
}

async function* batchesOf(paths: string[], columns: string[]): AsyncGenerator<arrow.RecordBatch> {
  for (const path of paths) yield* readParquetBatches(path, columns);
}
