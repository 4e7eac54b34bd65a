/**
 * Which order a table's rows are exported in when backup.export_order is left empty: the
 * order the table already has in the bucket, so unchanged rows keep giving identical files
 * across upgrades; time first for a table the bucket does not hold yet.
 */
import type { ManifestTable } from './manifest.js';

/** backup.export_order: see parquet/table-catalog's exportOrder for what each costs. */
export type ExportOrder = 'key' | 'time_first';

/**
 * A table's first snapshot: time first. A table that grows time step by time step has its
 * heap in that order, so the export reads it nearly as it lies and the files are smaller;
 * the restore pays the key's sort instead, as pg_restore of a pg_dump does.
 */
export const FIRST_EXPORT_ORDER: ExportOrder = 'time_first';

/** format_type's names of date and timestamp types, with or without precision and zone. */
const DATE_LIKE_TYPE = /^(date|timestamp)\b/;

/**
 * The order of `entry` (the table in the newest complete version holding it), or FIRST_EXPORT_ORDER without one.
 * Time first when its rows are sorted by a date or timestamp column first (a key led by one
 * is the same order either way); key when sorted by anything else, and for entries written
 * before order_columns, whose rows are in key order.
 */
export function keptExportOrder(entry: Pick<ManifestTable, 'order_columns' | 'columns'> | undefined): ExportOrder {
  if (!entry) return FIRST_EXPORT_ORDER;
  const lead = entry.order_columns?.[0];
  const type = entry.columns.find((column) => column.name === lead)?.pg_type;
  return type !== undefined && DATE_LIKE_TYPE.test(type) ? 'time_first' : 'key';
}
