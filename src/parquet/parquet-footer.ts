/**
 * Reads num_rows from a Parquet footer. parquet-wasm's streaming writer ignores errors from
 * individual batch writes, so the export checks the footer against the rows it sent rather
 * than trusting a file that could silently miss rows.
 *
 * Footer: Thrift compact-encoded FileMetaData, its length as uint32 LE, then "PAR1".
 * FileMetaData field 3 is num_rows (i64); fields 1 (i32) and 2 (list<SchemaElement>) come first.
 */

const MAGIC = [0x50, 0x41, 0x52, 0x31]; // PAR1
const NUM_ROWS_FIELD = 3;

const enum CompactType {
  Stop = 0,
  True = 1,
  False = 2,
  Byte = 3,
  I16 = 4,
  I32 = 5,
  I64 = 6,
  Double = 7,
  Binary = 8,
  List = 9,
  Set = 10,
  Map = 11,
  Struct = 12,
}

/** `tail` must end with the file's last bytes and hold the whole footer. */
export function footerRowCount(tail: Uint8Array): number {
  const end = tail.length;
  if (end < 12 || MAGIC.some((byte, i) => tail[end - 4 + i] !== byte)) throw new Error('Parquet output does not end with PAR1');
  const metadataLength = new DataView(tail.buffer, tail.byteOffset, end).getUint32(end - 8, true);
  if (metadataLength + 8 > end) throw new Error('Parquet footer is not within the retained tail');
  const reader = new CompactReader(tail, end - 8 - metadataLength);
  let fieldId = 0;
  for (;;) {
    const header = reader.byte();
    const type = header & 0x0f;
    if (type === CompactType.Stop) throw new Error('Parquet footer has no num_rows');
    const delta = header >> 4;
    fieldId = delta === 0 ? reader.zigzag() : fieldId + delta;
    if (fieldId === NUM_ROWS_FIELD && type === CompactType.I64) return reader.zigzag();
    reader.skip(type);
  }
}

class CompactReader {
  constructor(
    private readonly bytes: Uint8Array,
    private pos: number,
  ) {}

  byte(): number {
    if (this.pos >= this.bytes.length) throw new Error('Parquet footer is truncated');
    return this.bytes[this.pos++];
  }

  /** Unsigned varint as a double: exact up to 2^53, far beyond any row count. */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
  }

  zigzag(): number {
    const raw = this.varint();
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }

  skip(type: number): void {
    switch (type) {
      case CompactType.True:
      case CompactType.False:
        return;
      case CompactType.Byte:
        this.pos += 1;
        return;
      case CompactType.I16:
      case CompactType.I32:
      case CompactType.I64:
        this.varint();
        return;
      case CompactType.Double:
        this.pos += 8;
        return;
      case CompactType.Binary: {
        const length = this.varint(); // read before touching pos: `pos += varint()` would use the old pos
        this.pos += length;
        return;
      }
      case CompactType.List:
      case CompactType.Set: {
        const header = this.byte();
        const size = header >> 4 === 15 ? this.varint() : header >> 4;
        const elementType = inCollection(header & 0x0f);
        for (let i = 0; i < size; i++) this.skip(elementType);
        return;
      }
      case CompactType.Map: {
        const size = this.varint();
        if (size === 0) return;
        const types = this.byte();
        const keyType = inCollection(types >> 4);
        const valueType = inCollection(types & 0x0f);
        for (let i = 0; i < size; i++) {
          this.skip(keyType);
          this.skip(valueType);
        }
        return;
      }
      case CompactType.Struct:
        for (let header = this.byte(); (header & 0x0f) !== CompactType.Stop; header = this.byte()) {
          if (header >> 4 === 0) this.zigzag();
          this.skip(header & 0x0f);
        }
        return;
      default:
        throw new Error(`Parquet footer has unknown Thrift type ${type}`);
    }
  }
}

/** Booleans inside lists, sets and maps take one byte each instead of living in the type nibble. */
function inCollection(type: number): number {
  return type === CompactType.True || type === CompactType.False ? CompactType.Byte : type;
}
