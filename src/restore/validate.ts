/**
 * Checks a loaded staging table before anything touches the live one, in one scan:
 * - rows: equal to the manifest's count (snapshots) and at least the source's min_rows;
 * - date range of date_column: equal to the manifest's (snapshots);
 * - nulls: NOT NULL and CHECK constraints already held during the COPY (the staging table
 *   has them); on top, the share of *empty rows* (every data column NULL, data columns
 *   being those outside the key, the date column and columns with defaults) must be at
 *   most validation.max_null_ratio. Per-column ratios are not bounded: sparse history,
 *   such as macro series that start decades after the table, is legitimately mostly NULL.
 */
import pg from 'pg';
import type { SeedvaultConfig, SourceConfig } from '../config/schema.js';
import type { ManifestTable } from '../domain/manifest.js';
import { IntegrityError } from '../errors.js';
import { Kind } from '../parquet/pg-types.js';
import type { TableLayout } from '../parquet/table-catalog.js';

export interface StagedFacts {
  rows: number;
  dateRange: [string, string] | null;
  emptyRowRatio: number;
}

export interface ValidateOptions {
  client: pg.ClientBase;
  staging: string;
  layout: TableLayout;
  source: SourceConfig;
  defaults: Set<string>;
  entry: ManifestTable | null;
  validation: SeedvaultConfig['validation'];
  location: string;
}

/**
 * Select-list SQL for the first and last day of the layout's date column as 'YYYY-MM-DD',
 * the way the manifest records them (timestamptz by its UTC day, date and timestamp as
 * they are, whatever the session time zone), or NULLs without a date column.
 */
export function dateRangeSql(layout: TableLayout): string {
  const column = layout.dateColumnIndex >= 0 ? layout.columns[layout.dateColumnIndex]! : null;
  if (!column) return 'NULL AS first, NULL AS last';
  const name = pg.escapeIdentifier(column.name);
  const day = (expr: string) => (column.kind === Kind.TimestampTz ? `to_char(${expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD')` : `to_char(${expr}, 'YYYY-MM-DD')`);
  return `${day(`min(${name})`)} AS first, ${day(`max(${name})`)} AS last`;
}

/** The columns whose all being NULL makes a row empty: outside the key, the date column and columns with defaults. */
export function dataColumns(layout: TableLayout, defaults: Set<string>): string[] {
  const dateColumn = layout.dateColumnIndex >= 0 ? layout.columns[layout.dateColumnIndex]! : null;
  return layout.columns.filter((c) => !layout.keyColumns.includes(c.name) && c !== dateColumn && !defaults.has(c.name)).map((c) => c.name);
}

/** The staging table's facts, from one scan of it. */
export async function scanStagedFacts(client: pg.ClientBase, staging: string, layout: TableLayout, defaults: Set<string>): Promise<StagedFacts> {
  const data = dataColumns(layout, defaults).map((name) => pg.escapeIdentifier(name));
  const empty = data.length === 0 ? '0' : `coalesce(avg((num_nulls(${data.join(', ')}) = ${data.length})::int), 0)`;
  const { rows } = await client.query<{ rows: string; first: string | null; last: string | null; empty: string }>(
    `SELECT count(*) AS rows, ${dateRangeSql(layout)}, ${empty} AS empty FROM ${staging}`,
  );
  const row = rows[0]!;
  return { rows: Number(row.rows), dateRange: row.first && row.last ? [row.first, row.last] : null, emptyRowRatio: Number(row.empty) };
}

/**
 * Checks the staging table's facts: `streamed` when the load gathered them from the rows it
 * sent (a Parquet load: COPY takes all of them or none), else from a scan of the table.
 */
export async function validateStaging(options: ValidateOptions, streamed: StagedFacts | null = null): Promise<StagedFacts> {
  const { layout, source, entry, validation, location } = options;
  const facts = streamed ?? (await scanStagedFacts(options.client, options.staging, layout, options.defaults));
  const problems: string[] = [];
  if (validation.check_row_counts) {
    if (entry && facts.rows !== entry.rows) problems.push(`${facts.rows} rows loaded, the manifest says ${entry.rows}`);
    if (facts.rows < source.min_rows) problems.push(`${facts.rows} rows, fewer than min_rows ${source.min_rows}`);
  }
  if (validation.check_date_ranges && entry?.date_range && JSON.stringify(facts.dateRange) !== JSON.stringify(entry.date_range)) {
    problems.push(`date range ${facts.dateRange?.join('..') ?? 'empty'}, the manifest says ${entry.date_range.join('..')}`);
  }
  if (validation.check_null_ratios && facts.emptyRowRatio > validation.max_null_ratio) {
    problems.push(`${(100 * facts.emptyRowRatio).toFixed(1)}% of rows have every data column NULL (max_null_ratio ${validation.max_null_ratio})`);
  }
  if (problems.length > 0) throw new IntegrityError(`${location}: ${problems.join('; ')}`);
  return facts;
}
