/**
 * Splits PostgreSQL's binary COPY stream into rows and fields without allocating per value:
 * each field is handed to the sink as (buffer, offset, length) inside the received chunk
 * (or a reused scratch buffer for a row split across chunks), valid only during the call.
 * Format: 11-byte signature, int32 flags, int32 extension length + extension, then per row
 * an int16 field count and per field an int32 length (-1 for NULL) and the bytes; a field
 * count of -1 ends the data. All integers are big-endian.
 */

export interface CopyRowSink {
  /** length is -1 for NULL. bytes and view cover the same memory. */
  field(column: number, bytes: Uint8Array, view: DataView, offset: number, length: number): void;
  /** Returns true to pause decoding (e.g. the batch is full). */
  endRow(): boolean;
}

/** Sees one column's non-NULL values before the sink does (e.g. to track a date range). */
export interface FieldTap {
  readonly column: number;
  /** bytes and view cover the same memory, valid only during the call. */
  observe(bytes: Uint8Array, view: DataView, offset: number, length: number): void;
}

/** Two taps on one column, so the decoder keeps a single tap lookup per field. */
class TapPair implements FieldTap {
  readonly column: number;

  constructor(
    private readonly first: FieldTap,
    private readonly second: FieldTap,
  ) {
    this.column = first.column;
  }

  observe(bytes: Uint8Array, view: DataView, offset: number, length: number): void {
    this.first.observe(bytes, view, offset, length);
    this.second.observe(bytes, view, offset, length);
  }
}

/** Each column's tap (or null), indexed by column. */
function tapsByColumn(columnCount: number, taps: readonly FieldTap[]): (FieldTap | null)[] {
  const byColumn: (FieldTap | null)[] = new Array<FieldTap | null>(columnCount).fill(null);
  for (const tap of taps) {
    if (!(tap.column >= 0 && tap.column < columnCount)) throw new RangeError(`tap on column ${tap.column} of ${columnCount}`);
    const existing = byColumn[tap.column];
    byColumn[tap.column] = existing === null ? tap : new TapPair(existing, tap);
  }
  return byColumn;
}

const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]; // "PGCOPY\n\377\r\n\0"
const HEADER_FIXED_BYTES = SIGNATURE.length + 8;
const EMPTY = new Uint8Array(0);

export class CopyBinaryDecoder {
  private bytes: Uint8Array = EMPTY;
  private view: DataView = new DataView(EMPTY.buffer);
  private pos = 0;
  /** Where a row split across chunks is joined; see merge(). */
  private scratch = new Uint8Array(1 << 17);
  /** Chunks received but not yet merged into `bytes`. */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Bytes from pos that must be present before decoding can make progress. */
  private needed = 0;
  private headerRead = false;
  private trailerRead = false;
  /** Set by the sink's endRow(); checked once the row is fully consumed. */
  private sinkPaused = false;
  private decodedRows = 0;
  private readonly taps: (FieldTap | null)[];

  constructor(
    private readonly columnCount: number,
    private readonly sink: CopyRowSink,
    taps: readonly FieldTap[] = [],
  ) {
    this.taps = tapsByColumn(columnCount, taps);
  }

  get rows(): number {
    return this.decodedRows;
  }

  push(chunk: Uint8Array): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
  }

  /** Decodes buffered rows until the sink asks to pause (true) or the input runs out (false). */
  decode(): boolean {
    while (!this.trailerRead) {
      if (this.bytes.length - this.pos < this.needed && !this.merge()) return false;
      const missing = this.headerRead ? this.decodeRow() : this.decodeHeader();
      if (missing > 0) {
        this.needed = missing;
        continue;
      }
      this.needed = 0;
      if (this.sinkPaused) {
        this.sinkPaused = false;
        return true;
      }
    }
    return false;
  }

  /** Throws unless the whole stream, trailer included, has been decoded. */
  finish(): void {
    if (!this.trailerRead) throw new Error('COPY data ended in the middle of a row');
    if (this.bytes.length - this.pos + this.pendingBytes > 0) throw new Error('COPY data continues after its trailer');
  }

  /** Expects the header of another COPY stream next, once this one has been decoded to its trailer. */
  nextCopy(): void {
    this.finish();
    this.headerRead = false;
    this.trailerRead = false;
  }

  /** Returns 0 when a row (or the trailer) was consumed, else how many bytes from pos are needed. */
  private decodeRow(): number {
    const { bytes, view, columnCount } = this;
    const end = bytes.length;
    const start = this.pos;
    if (end - start < 2) return 2;
    const count = view.getInt16(start);
    if (count === -1) {
      this.trailerRead = true;
      this.pos = start + 2;
      return 0;
    }
    if (count !== columnCount) throw new Error(`COPY row has ${count} fields, expected ${columnCount}`);
    // First pass: the whole row must be buffered, so the sink never sees half a row.
    let p = start + 2;
    for (let i = 0; i < count; i++) {
      if (end - p < 4) return p + 4 - start;
      const length = view.getInt32(p);
      p += 4;
      if (length > 0) {
        p += length;
        if (p > end) return p - start;
      } else if (length < -1) {
        throw new Error(`COPY field has invalid length ${length}`);
      }
    }
    const { sink, taps } = this;
    p = start + 2;
    for (let i = 0; i < count; i++) {
      const length = view.getInt32(p);
      p += 4;
      const tap = taps[i];
      if (tap !== null && length >= 0) tap.observe(bytes, view, p, length);
      sink.field(i, bytes, view, p, length);
      if (length > 0) p += length;
    }
    this.pos = p;
    this.decodedRows++;
    this.sinkPaused = sink.endRow();
    return 0;
  }

  private decodeHeader(): number {
    const { bytes, view } = this;
    const start = this.pos;
    if (bytes.length - start < HEADER_FIXED_BYTES) return HEADER_FIXED_BYTES;
    for (let i = 0; i < SIGNATURE.length; i++) {
      if (bytes[start + i] !== SIGNATURE[i]) throw new Error('not a binary COPY stream (bad signature)');
    }
    const extension = view.getInt32(start + SIGNATURE.length + 4);
    if (bytes.length - start < HEADER_FIXED_BYTES + extension) return HEADER_FIXED_BYTES + extension;
    this.pos = start + HEADER_FIXED_BYTES + extension;
    this.headerRead = true;
    return 0;
  }

  /**
   * Makes at least `needed` bytes available from pos, once enough has arrived. A chunk that
   * starts on a row boundary is used as it is; otherwise the unread tail and the pending
   * chunks are joined in a scratch buffer that is reused, so the copy allocates nothing.
   */
  private merge(): boolean {
    const tail = this.bytes.length - this.pos;
    const size = tail + this.pendingBytes;
    if (size < this.needed || this.pendingBytes === 0) return false;
    let merged: Uint8Array;
    if (tail === 0 && this.pending.length === 1) {
      merged = this.pending[0];
    } else {
      if (this.bytes.buffer === this.scratch.buffer && size <= this.scratch.length) {
        this.scratch.copyWithin(0, this.bytes.byteOffset + this.pos, this.bytes.byteOffset + this.bytes.length);
      } else {
        const target = size <= this.scratch.length ? this.scratch : new Uint8Array(Math.max(size, 2 * this.scratch.length));
        target.set(this.bytes.subarray(this.pos), 0);
        this.scratch = target;
      }
      let at = tail;
      for (const chunk of this.pending) {
        this.scratch.set(chunk, at);
        at += chunk.length;
      }
      merged = this.scratch.subarray(0, size);
    }
    this.pending = [];
    this.pendingBytes = 0;
    this.bytes = merged;
    this.view = new DataView(merged.buffer, merged.byteOffset, merged.byteLength);
    this.pos = 0;
    return true;
  }
}
