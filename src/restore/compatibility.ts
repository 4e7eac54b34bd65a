/**
 * Is a file's column set loadable into the live table? Every file column must exist in
 * the live table with a compatible type (the Parquet type the live column would export
 * to, or a DECIMAL the live column can hold), and every live NOT NULL column without a
 * default must come from the file.
 */
import * as arrow from 'apache-arrow';
import type pg from 'pg';
import type { ManifestColumn } from '../domain/manifest.js';
import { IntegrityError } from '../errors.js';
import type { EncodedColumn } from '../parquet/copy-binary-encoder.js';
import { Kind, type ColumnSpec } from '../parquet/pg-types.js';
import type { TableLayout } from '../parquet/table-catalog.js';

/** Live columns that fill themselves when the file leaves them out. */
export async function columnsWithDefaults(client: pg.ClientBase, liveSql: string): Promise<Set<string>> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT attname::text AS name FROM pg_attribute
      WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND (atthasdef OR attidentity <> '' OR attgenerated <> '')`,
    [liveSql],
  );
  return new Set(rows.map((r) => r.name));
}

/** The live columns for `names` (file order); throws naming every problem. */
export function matchColumns(layout: TableLayout, names: string[], defaults: Set<string>): ColumnSpec[] {
  const byName = new Map(layout.columns.map((c) => [c.name, c]));
  const problems = names.filter((n) => !byName.has(n)).map((n) => `file column "${n}" is not in ${layout.label}`);
  for (const column of layout.columns) {
    if (!column.nullable && !defaults.has(column.name) && !names.includes(column.name)) problems.push(`NOT NULL column "${column.name}" is missing from the file`);
  }
  if (problems.length > 0) throw new IntegrityError(`incompatible with ${layout.label}: ${problems.join('; ')}`);
  return names.map((n) => byName.get(n)!);
}

/** Columns to encode for a Parquet file, after checking the manifest's and the file's types against the live ones. */
export function parquetColumns(layout: TableLayout, fields: arrow.Field[], manifestColumns: ManifestColumn[] | null, defaults: Set<string>): EncodedColumn[] {
  const live = matchColumns(layout, fields.map((f) => f.name), defaults);
  const problems: string[] = [];
  fields.forEach((field, i) => {
    const spec = live[i]!;
    const declared = manifestColumns?.find((c) => c.name === field.name)?.parquet_type;
    if (declared !== undefined && !parquetTypeFits(declared, spec)) problems.push(`"${field.name}" is ${declared} in the snapshot, ${spec.pgType} (${spec.parquetType}) live`);
    else if (!arrowTypeFits(field.type, spec.kind)) problems.push(`"${field.name}" holds ${String(field.type)}, which cannot load into ${spec.pgType}`);
  });
  if (problems.length > 0) throw new IntegrityError(`incompatible with ${layout.label}: ${problems.join('; ')}`);
  return live.map((spec) => ({ name: spec.name, kind: spec.kind, pgType: spec.pgType }));
}

const DECIMAL = /^DECIMAL\((\d+),(\d+)\)$/;

/** Same Parquet type, or a DECIMAL whose integer and fraction digits both fit the live one (any fits an unconstrained numeric). */
function parquetTypeFits(declared: string, live: ColumnSpec): boolean {
  if (declared === live.parquetType) return true;
  const from = DECIMAL.exec(declared);
  if (from && live.kind === Kind.NumericText) return true;
  const to = DECIMAL.exec(live.parquetType);
  if (!from || !to) return false;
  const [fp, fs] = [Number(from[1]), Number(from[2])];
  const [tp, ts] = [Number(to[1]), Number(to[2])];
  return ts >= fs && tp - ts >= fp - fs;
}

function arrowTypeFits(type: arrow.DataType, kind: Kind): boolean {
  const value = arrow.DataType.isDictionary(type) ? type.dictionary : type;
  // Large (64-bit offset) strings never come from our writer and are not read.
  const text = arrow.DataType.isUtf8(value);
  switch (kind) {
    case Kind.Bool: return arrow.DataType.isBool(value);
    case Kind.Int2: return arrow.DataType.isInt(value) && value.bitWidth === 16;
    case Kind.Int4: return arrow.DataType.isInt(value) && value.bitWidth === 32;
    case Kind.Int8: return arrow.DataType.isInt(value) && value.bitWidth === 64;
    case Kind.Float4: return arrow.DataType.isFloat(value) && value.precision === arrow.Precision.SINGLE;
    case Kind.Float8: return arrow.DataType.isFloat(value) && value.precision === arrow.Precision.DOUBLE;
    case Kind.Decimal:
    case Kind.NumericText: return (arrow.DataType.isDecimal(value) && value.bitWidth === 128) || text;
    case Kind.Timestamp:
    case Kind.TimestampTz: return arrow.DataType.isTimestamp(value);
    case Kind.Date: return arrow.DataType.isDate(value) && value.unit === arrow.DateUnit.DAY;
    case Kind.Bytea: return arrow.DataType.isBinary(value);
    default: return text;
  }
}
