/**
 * Maps PostgreSQL column types to the kinds the export pipeline can decode, and to the
 * Parquet logical type a reader will see. Built-in types are matched by OID, which is
 * fixed across PostgreSQL versions, so a user type that happens to be called "int4" in
 * another schema is never mistaken for the real one.
 *
 *   PostgreSQL                         Arrow / Parquet                  pandas via pyarrow
 *   bool                               Bool / BOOLEAN                   bool
 *   int2, int4, int8                   Int16/32/64 / INT(16|32|64)      int16/32/64
 *   float4, float8                     Float32/64 / FLOAT, DOUBLE       float32/64
 *   numeric(p,s), 1 <= p <= 38,        Decimal128(p,s) / DECIMAL(p,s)   decimal.Decimal
 *     0 <= s <= p                        (INT32, INT64 or FIXED_LEN_BYTE_ARRAY by precision)
 *   numeric (unconstrained) whose      Decimal128(p,s) / DECIMAL(p,s)   decimal.Decimal
 *     values in the snapshot all have    (found by one scan in the export's snapshot:
 *     scale s, fit p <= 38, are finite   exactDecimal; key columns excepted)
 *   numeric (any other unconstrained,  Utf8 / STRING: exact text as     str
 *     p > 38, negative scale, s > p)     PostgreSQL prints it, 'NaN' too
 *   timestamptz                        Timestamp(us, 'UTC') / TIMESTAMP(MICROS,UTC)   datetime64[us, UTC]
 *   timestamp                          Timestamp(us) / TIMESTAMP(MICROS)              datetime64[us]
 *   date                               Date32 / DATE                    date
 *   text, varchar, bpchar, name        Utf8 / STRING (bpchar keeps its padding)       str
 *   uuid                               Utf8 / STRING, canonical lowercase text        str
 *   json, jsonb                        Utf8 / STRING, JSON text (jsonb normalised)    str
 *   bytea                              Binary / BYTE_ARRAY              bytes
 *
 * Anything else (interval, time, arrays, enums, domains, money, inet, ...) is refused
 * before any byte is written. Infinite timestamps/dates and NaN in a DECIMAL column fail
 * the export when met, since Parquet has no value for them.
 */

/** How a column's binary COPY value is decoded. Numbers, not strings: the hot loop switches on them. */
export const enum Kind {
  Bool,
  Int2,
  Int4,
  Int8,
  Float4,
  Float8,
  Decimal,
  NumericText,
  Timestamp,
  TimestampTz,
  Date,
  Text,
  Uuid,
  Json,
  Jsonb,
  Bytea,
}

export interface ColumnSpec {
  name: string;
  /** format_type() of the column, e.g. 'numeric(12,4)'. */
  pgType: string;
  kind: Kind;
  /** Decimal precision and scale; 0 for every other kind. */
  precision: number;
  scale: number;
  nullable: boolean;
  /** Parquet logical type as a reader reports it, e.g. 'DECIMAL(12,4)'. */
  parquetType: string;
}

/** Widest decimal that fits Arrow Decimal128: 10^38 < 2^127. */
const MAX_DECIMAL128_PRECISION = 38;
const VARHDRSZ = 4;

const KIND_BY_OID = new Map<number, Kind>([
  [16, Kind.Bool],
  [17, Kind.Bytea],
  [19, Kind.Text], // name
  [20, Kind.Int8],
  [21, Kind.Int2],
  [23, Kind.Int4],
  [25, Kind.Text],
  [114, Kind.Json],
  [700, Kind.Float4],
  [701, Kind.Float8],
  [1042, Kind.Text], // bpchar
  [1043, Kind.Text], // varchar
  [1082, Kind.Date],
  [1114, Kind.Timestamp],
  [1184, Kind.TimestampTz],
  [1700, Kind.Decimal], // narrowed to NumericText below when it does not fit Decimal128
  [2950, Kind.Uuid],
  [3802, Kind.Jsonb],
]);

const PARQUET_TYPE: Record<Exclude<Kind, Kind.Decimal>, string> = {
  [Kind.Bool]: 'BOOLEAN',
  [Kind.Int2]: 'INT16',
  [Kind.Int4]: 'INT32',
  [Kind.Int8]: 'INT64',
  [Kind.Float4]: 'FLOAT',
  [Kind.Float8]: 'DOUBLE',
  [Kind.NumericText]: 'STRING (exact numeric text)',
  [Kind.Timestamp]: 'TIMESTAMP(MICROS)',
  [Kind.TimestampTz]: 'TIMESTAMP(MICROS,UTC)',
  [Kind.Date]: 'DATE',
  [Kind.Text]: 'STRING',
  [Kind.Uuid]: 'STRING (uuid text)',
  [Kind.Json]: 'STRING (json text)',
  [Kind.Jsonb]: 'STRING (json text)',
  [Kind.Bytea]: 'BINARY',
};

export interface CatalogColumn {
  name: string;
  typeOid: number;
  typmod: number;
  pgType: string;
  notNull: boolean;
}

/** Returns the spec, or null when the type cannot be exported. */
export function columnSpec(column: CatalogColumn): ColumnSpec | null {
  const kind = KIND_BY_OID.get(column.typeOid);
  if (kind === undefined) return null;
  const base = { name: column.name, pgType: column.pgType, nullable: !column.notNull };
  if (kind === Kind.Decimal) {
    const decimal = decimalTypmod(column.typmod);
    if (decimal) {
      const { precision, scale } = decimal;
      return { ...base, kind, precision, scale, parquetType: `DECIMAL(${precision},${scale})` };
    }
    // Unconstrained numeric has no fixed scale: keep the exact text instead of rounding.
    return { ...base, kind: Kind.NumericText, precision: 0, scale: 0, parquetType: PARQUET_TYPE[Kind.NumericText] };
  }
  return { ...base, kind, precision: 0, scale: 0, parquetType: PARQUET_TYPE[kind] };
}

/** One scan's findings on an unconstrained numeric column (PostgreSQL's text for the magnitude). */
export interface NumericProfile {
  /** Smallest and largest scale() of the non-NULL finite values; null when there are none. */
  minScale: number | null;
  maxScale: number | null;
  /** max(abs(value))::text: 'NaN' or 'Infinity' when the column holds one; null when all NULL. */
  maxAbs: string | null;
}

/**
 * The DECIMAL(p,s) an unconstrained numeric column can be written as with every value given
 * back exactly, or null to keep exact text: all values share one scale (a DECIMAL would print
 * 1.5 as 1.50), none is NaN or infinite, and the digits fit Decimal128 (p <= 38).
 */
export function exactDecimal(spec: ColumnSpec, profile: NumericProfile): ColumnSpec | null {
  const { minScale, maxScale, maxAbs } = profile;
  if (spec.kind !== Kind.NumericText || minScale === null || maxAbs === null || minScale !== maxScale) return null;
  if (!/^\d+(\.\d+)?$/.test(maxAbs)) return null;
  const integerPart = maxAbs.split('.')[0]!;
  const precision = Math.max(1, (integerPart === '0' ? 0 : integerPart.length) + minScale);
  if (precision > MAX_DECIMAL128_PRECISION) return null;
  return { ...spec, kind: Kind.Decimal, precision, scale: minScale, parquetType: `DECIMAL(${precision},${minScale})` };
}

/**
 * numeric(p,s) typmod → precision/scale when Decimal128 can hold it. PostgreSQL 15 also
 * allows a negative scale or a scale above the precision; Parquet's DECIMAL does not.
 */
function decimalTypmod(typmod: number): { precision: number; scale: number } | null {
  if (typmod < VARHDRSZ) return null;
  const precision = ((typmod - VARHDRSZ) >> 16) & 0xffff;
  const scale = ((((typmod - VARHDRSZ) & 0x7ff) ^ 1024) - 1024);
  if (precision < 1 || precision > MAX_DECIMAL128_PRECISION || scale < 0 || scale > precision) return null;
  return { precision, scale };
}

export function isDateLike(kind: Kind): boolean {
  return kind === Kind.Date || kind === Kind.Timestamp || kind === Kind.TimestampTz;
}
