import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import pg from 'pg';
import type { ManifestColumn } from '../../src/domain/manifest.js';

/**
 * Row-for-row comparison of a table with a Parquet file read by an independent reader
 * (hyparquet, not the arrow/parquet-wasm code that wrote it). Both sides are brought to
 * the same text form per PostgreSQL type: exact decimals at the column's scale, UTC
 * instants, dates, JSON re-serialised.
 */
export function normalizeValue(value: unknown, pgType: string): string | null {
  if (value === null || value === undefined) return null;
  const scale = /^numeric\(\d+,(\d+)\)$/.exec(pgType)?.[1];
  if (scale !== undefined) return typeof value === 'number' ? value.toFixed(Number(scale)) : String(value);
  if (value instanceof Date) return pgType === 'date' ? value.toISOString().slice(0, 10) : value.toISOString();
  if (pgType === 'json' || pgType === 'jsonb') return JSON.stringify(typeof value === 'string' ? JSON.parse(value) : value);
  return String(value);
}

export async function parquetRows(path: string, columns: ManifestColumn[]): Promise<(string | null)[][]> {
  const rows = (await parquetReadObjects({ file: await asyncBufferFromFile(path) })) as Record<string, unknown>[];
  return rows.map((row) => columns.map((c) => normalizeValue(row[c.name], c.pg_type)));
}

export async function tableRows(databaseUrl: string, table: string, columns: ManifestColumn[], orderBy: string): Promise<(string | null)[][]> {
  const client = new pg.Client({
    connectionString: databaseUrl,
    // Dates as the text PostgreSQL sends, not local-midnight Date objects.
    types: { getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === 1082 ? (v: string) => v : pg.types.getTypeParser(oid, format)) } as pg.CustomTypesConfig,
  });
  await client.connect();
  try {
    const { rows } = await client.query(`select * from ${pg.escapeIdentifier(table)} order by ${orderBy}`);
    return rows.map((row: Record<string, unknown>) => columns.map((c) => normalizeValue(row[c.name], c.pg_type)));
  } finally {
    await client.end();
  }
}
