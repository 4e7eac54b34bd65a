/**
 * Snapshot diff rules (pure): what the two sides of a table diff have in common, and the
 * merge-join of two key-ordered row streams into counts and the first samples. Rows stay
 * opaque: the caller's cursors and comparisons know how to read them.
 */
import { InputError, IntegrityError } from '../errors.js';
import type { ManifestColumn } from './manifest.js';

/** `<newer>` naming the live tables instead of a snapshot. */
export const LIVE_DATABASE = 'db';
export const DEFAULT_SAMPLE_LIMIT = 10;
/** Samples travel in the workflow's result: this bounds its size. */
export const MAX_SAMPLE_LIMIT = 1000;

export type DiffColumn = Pick<ManifestColumn, 'name' | 'pg_type'>;

export interface SchemaChange {
  added: string[];
  removed: string[];
  /** Columns on both sides whose type changed: "name: old -> new". */
  retyped: string[];
}

/** A column's value before and after, as text (null for NULL). */
export type ValueChange = [older: string | null, newer: string | null];

export interface ChangedSample {
  key: Record<string, string | null>;
  columns: Record<string, ValueChange>;
}

export interface TableDiff {
  table: string;
  /** identical: same file (sha256), no row read; compared: merge-joined; skipped: see `message`. */
  status: 'identical' | 'compared' | 'skipped';
  olderRows: number | null;
  newerRows: number | null;
  added: number;
  removed: number;
  changed: number;
  /** Null when the columns are the same. */
  schema: SchemaChange | null;
  /** The columns whose values were compared, key first. */
  compared: string[];
  samples: { added: Record<string, string | null>[]; removed: Record<string, string | null>[]; changed: ChangedSample[] };
  message: string | null;
}

/** What a diff's samples may take in its result: well under Temporal's 2 MB payload limit. */
export const MAX_SAMPLE_BYTES = 1 << 20;

/**
 * The tables with their samples cut until their JSON fits `maxBytes` (a thousand samples of
 * wide rows would not fit a workflow result), halving each list's length per round; `trimmed`
 * tells whether any were cut. Counts are never touched.
 */
export function fitSamples(tables: TableDiff[], maxBytes = MAX_SAMPLE_BYTES): { tables: TableDiff[]; trimmed: boolean } {
  let fitted = tables;
  let trimmed = false;
  while (new TextEncoder().encode(JSON.stringify(fitted)).length > maxBytes && fitted.some((t) => t.samples.added.length + t.samples.removed.length + t.samples.changed.length > 0)) {
    trimmed = true;
    const half = <T>(list: T[]) => list.slice(0, Math.floor(list.length / 2));
    fitted = fitted.map((t) => ({ ...t, samples: { added: half(t.samples.added), removed: half(t.samples.removed), changed: half(t.samples.changed) } }));
  }
  return { tables: fitted, trimmed };
}

/** Returns a reason when `limit` is not a valid sample count, else null. */
export function sampleLimitProblem(limit: number): string | null {
  return Number.isInteger(limit) && limit >= 0 && limit <= MAX_SAMPLE_LIMIT ? null : `expected a whole number from 0 to ${MAX_SAMPLE_LIMIT}`;
}

/** The tables to diff: the requested ones, each on at least one side, or every table of either side. */
export function selectTables(requested: string[] | undefined, older: string[], newer: string[]): string[] {
  const available = [...new Set([...older, ...newer])];
  if (!requested) return available;
  const unknown = requested.find((t) => !available.includes(t));
  if (unknown !== undefined) throw new InputError(`--tables: unknown table "${unknown.slice(0, 63)}" (in these versions: ${available.join(', ')})`);
  return [...new Set(requested)];
}

/** Returns null when both sides have the same columns with the same types. */
export function schemaChange(older: DiffColumn[], newer: DiffColumn[]): SchemaChange | null {
  const before = new Map(older.map((c) => [c.name, c.pg_type]));
  const after = new Map(newer.map((c) => [c.name, c.pg_type]));
  const change: SchemaChange = {
    added: newer.filter((c) => !before.has(c.name)).map((c) => c.name),
    removed: older.filter((c) => !after.has(c.name)).map((c) => c.name),
    retyped: older.filter((c) => after.has(c.name) && after.get(c.name) !== c.pg_type).map((c) => `${c.name}: ${c.pg_type} -> ${after.get(c.name)}`),
  };
  return change.added.length + change.removed.length + change.retyped.length === 0 ? null : change;
}

/**
 * The columns to merge-join on: the key, then every other column both sides have with the
 * same type (in the older side's order). Throws when a key column is missing on a side or
 * changed type, since the rows can then not be matched.
 */
export function comparedColumns(table: string, keyColumns: string[], older: DiffColumn[], newer: DiffColumn[]): { key: string[]; values: string[] } {
  if (keyColumns.length === 0) throw new IntegrityError(`table ${table} has no primary key or NOT NULL unique key to match rows by`);
  const after = new Map(newer.map((c) => [c.name, c.pg_type]));
  for (const name of keyColumns) {
    const type = older.find((c) => c.name === name)?.pg_type;
    if (type === undefined || !after.has(name)) throw new IntegrityError(`table ${table}: key column "${name}" is not on both sides, rows cannot be matched`);
    if (after.get(name) !== type) throw new IntegrityError(`table ${table}: key column "${name}" changed type (${type} -> ${after.get(name)}), rows cannot be matched`);
  }
  const values = older.filter((c) => !keyColumns.includes(c.name) && after.get(c.name) === c.pg_type).map((c) => c.name);
  return { key: keyColumns, values };
}

/** Rows in key order, read one at a time; `advance` returns a promise only when it has to read more. */
export interface RowCursor<Row> {
  /** Valid after advance() returned true, until the next advance. */
  readonly current: Row;
  /** The row before `current`, kept to check the order; null at the first row. */
  readonly previous: Row | null;
  advance(): boolean | Promise<boolean>;
}

export interface RowComparison<Row> {
  compareKeys(a: Row, b: Row): number;
  sameValues(a: Row, b: Row): boolean;
  /** Key of a row, for samples and messages. */
  describeKey(row: Row): Record<string, string | null>;
  /** The compared columns whose values differ, for samples. */
  changedColumns(older: Row, newer: Row): Record<string, ValueChange>;
}

export type DiffTally = Pick<TableDiff, 'added' | 'removed' | 'changed' | 'samples'>;

/**
 * Merge-joins two streams sorted by a unique key in constant memory: a key only on the
 * older side was removed, only on the newer added, on both with other values changed.
 * Each side's keys must strictly increase under `compareKeys`; a side that does not (a
 * collation whose order differs from the comparison's, a duplicate key) fails loudly
 * instead of producing a wrong diff.
 */
export async function mergeDiff<Row>(table: string, older: RowCursor<Row>, newer: RowCursor<Row>, compare: RowComparison<Row>, limit: number): Promise<DiffTally> {
  const tally: DiffTally = { added: 0, removed: 0, changed: 0, samples: { added: [], removed: [], changed: [] } };
  const step = async (cursor: RowCursor<Row>, side: string): Promise<boolean> => {
    const more = cursor.advance();
    const has = typeof more === 'boolean' ? more : await more;
    if (has && cursor.previous !== null && compare.compareKeys(cursor.previous, cursor.current) >= 0) {
      const [before, after] = [JSON.stringify(compare.describeKey(cursor.previous)), JSON.stringify(compare.describeKey(cursor.current))];
      throw new IntegrityError(
        `table ${table}: the ${side} rows are not in strictly increasing key order (${before} then ${after}); duplicate keys, or a text key sorted by a collation other than byte order ("C")`,
      );
    }
    return has;
  };
  let hasOlder = await step(older, 'older');
  let hasNewer = await step(newer, 'newer');
  while (hasOlder || hasNewer) {
    const order = !hasNewer ? -1 : !hasOlder ? 1 : compare.compareKeys(older.current, newer.current);
    if (order < 0) {
      if (tally.removed++ < limit) tally.samples.removed.push(compare.describeKey(older.current));
      hasOlder = await step(older, 'older');
    } else if (order > 0) {
      if (tally.added++ < limit) tally.samples.added.push(compare.describeKey(newer.current));
      hasNewer = await step(newer, 'newer');
    } else {
      if (!compare.sameValues(older.current, newer.current) && tally.changed++ < limit) {
        tally.samples.changed.push({ key: compare.describeKey(older.current), columns: compare.changedColumns(older.current, newer.current) });
      }
      hasOlder = await step(older, 'older');
      hasNewer = await step(newer, 'newer');
    }
  }
  return tally;
}
