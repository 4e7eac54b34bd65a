/**
 * Reads a Parquet footer's num_rows and where each row group's bytes end. parquet-wasm's
 * streaming writer ignores errors from individual batch writes, so the export checks the
 * footer against the rows it sent rather than trusting a file that could silently miss rows;
 * the restore loads row groups as a download brings them, which needs their byte ranges.
 *
 * Footer: Thrift compact-encoded FileMetaData, its length as uint32 LE, then "PAR1".
 */

const MAGIC = [0x50, 0x41, 0x52, 0x31]; // PAR1

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

/** The reader positioned at the footer's FileMetaData; `tail` must end with the file's last bytes and hold the whole footer. */
function footerReader(tail: Uint8Array): CompactReader {
  const end = tail.length;
  if (end < 12 || MAGIC.some((byte, i) => tail[end - 4 + i] !== byte)) throw new Error('Parquet output does not end with PAR1');
  const metadataLength = footerLength(tail);
  if (metadataLength + 8 > end) throw new Error('Parquet footer is not within the retained tail');
  return new CompactReader(tail, end - 8 - metadataLength);
}

/** The footer's length (FileMetaData, without the 8 bytes of length and magic), from the file's last 8 bytes. */
export function footerLength(tail: Uint8Array): number {
  return new DataView(tail.buffer, tail.byteOffset, tail.length).getUint32(tail.length - 8, true);
}

export function footerRowCount(tail: Uint8Array): number {
  const reader = footerReader(tail);
  let rows: number | null = null;
  reader.struct((id, type) => {
    if (id !== FileMetaData.NumRows || type !== CompactType.I64) return false;
    rows = reader.zigzag();
    return true;
  });
  if (rows === null) throw new Error('Parquet footer has no num_rows');
  return rows;
}

/**
 * Where each row group's bytes end in the file, in row group order: a reader holding the
 * footer can decode row group i once the file's first `ends[i]` bytes are there. A chunk's
 * bytes start at its dictionary page (when it has one) or its first data page.
 */
export function rowGroupEnds(tail: Uint8Array): number[] {
  const reader = footerReader(tail);
  const ends: number[] = [];
  reader.struct((id, type) => {
    if (id !== FileMetaData.RowGroups || type !== CompactType.List) return false;
    reader.list(() => {
      let end = 0;
      reader.struct((id, type) => {
        if (id !== RowGroup.Columns || type !== CompactType.List) return false;
        reader.list(() => {
          end = Math.max(end, columnChunkEnd(reader));
        });
        return true;
      });
      ends.push(end);
    });
    return true;
  });
  return ends;
}

function columnChunkEnd(reader: CompactReader): number {
  let end = 0;
  reader.struct((id, type) => {
    if (id === ColumnChunk.FilePath) throw new Error('Parquet column chunks in other files are not supported');
    if (id !== ColumnChunk.MetaData || type !== CompactType.Struct) return false;
    let size = 0;
    let dataPage = 0;
    let dictionaryPage: number | null = null;
    reader.struct((id, type) => {
      if (type !== CompactType.I64) return false;
      if (id === ColumnMetaData.TotalCompressedSize) size = reader.zigzag();
      else if (id === ColumnMetaData.DataPageOffset) dataPage = reader.zigzag();
      else if (id === ColumnMetaData.DictionaryPageOffset) dictionaryPage = reader.zigzag();
      else return false;
      return true;
    });
    end = (dictionaryPage !== null && dictionaryPage > 0 ? Math.min(dictionaryPage, dataPage) : dataPage) + size;
    return true;
  });
  return end;
}

/** Thrift field ids of the footer structures read here (parquet.thrift). */
const enum FileMetaData {
  NumRows = 3,
  RowGroups = 4,
}
const enum RowGroup {
  Columns = 1,
}
const enum ColumnChunk {
  FilePath = 1,
  MetaData = 3,
}
const enum ColumnMetaData {
  TotalCompressedSize = 7,
  DataPageOffset = 9,
  DictionaryPageOffset = 11,
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

  /** Reads a struct's fields in order: `visit` consumes the field it wants and returns true; the rest are skipped. */
  struct(visit: (id: number, type: number) => boolean): void {
    let id = 0;
    for (let header = this.byte(); (header & 0x0f) !== CompactType.Stop; header = this.byte()) {
      const type = header & 0x0f;
      id = header >> 4 === 0 ? this.zigzag() : id + (header >> 4);
      if (!visit(id, type)) this.skip(type);
    }
  }

  /** Reads a list of structs, calling `element` once per element to consume it. */
  list(element: () => void): void {
    const header = this.byte();
    const size = header >> 4 === 15 ? this.varint() : header >> 4;
    if (size > 0 && (header & 0x0f) !== CompactType.Struct) throw new Error('Parquet footer list is not of structs');
    for (let i = 0; i < size; i++) element();
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
        this.struct(() => false);
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
