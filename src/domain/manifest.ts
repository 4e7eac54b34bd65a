/**
 * The manifest is the contract between snapshot, verify and restore (seed 002 layout,
 * extended). Its presence in `v<version>/` means the version is complete.
 */
import type { BarCoverage } from './coverage.js';

export const MANIFEST_FILE = 'manifest.json';
export const CHECKSUMS_FILE = 'checksums.sha256';
export const LATEST_VERSION_KEY = 'LATEST_VERSION';
export const LATEST_PREFIX = 'latest/';
export const PIN_MARKER = '.pinned';
export const RESERVATION_MARKER = '.reserved';

export interface ManifestColumn {
  name: string;
  pg_type: string;
  parquet_type: string;
  nullable: boolean;
}

/** One key range of a table split into parts (backup.split_rows): its own object under `<table>/`. */
export interface ManifestPart {
  /** Relative to the version folder: `<table>/part-00000.parquet`. */
  file: string;
  rows: number;
  /**
   * Key bounds as PostgreSQL prints them: rows with from <= key < to, the key's columns in
   * the order of `ManifestTable.key_columns`; null is an open end.
   */
  key_range: { from: string[] | null; to: string[] | null };
  date_range: [string, string] | null;
  size_bytes: number;
  sha256: string;
  /** As ManifestTable.crc32. */
  crc32?: string;
}

export interface ManifestTable {
  /** The data object, or for a split table the folder of its parts (`<table>/`). */
  file: string;
  rows: number;
  date_range: [string, string] | null;
  size_bytes: number;
  sha256: string;
  /**
   * The CRC32 the object store checked the upload against, in the form S3 reports it (of the
   * whole object, or of its 5 MiB parts' CRC32s with "-<parts>"), computed over the bytes the
   * sha256 is of. Lets the snapshot check each landed object with a HEAD instead of a
   * download. Absent in versions written before it, and for a split table (its parts have one).
   */
  crc32?: string;
  format: 'parquet' | 'csv.gz';
  compression: 'snappy' | 'gzip' | 'none';
  columns: ManifestColumn[];
  /** The bars table only: completeness against the market calendars, from the same database snapshot. */
  coverage?: BarCoverage;
  /**
   * A table split into parts: every part in export order. Then rows, size_bytes and date_range
   * are the parts' totals and sha256 is the SHA-256 of the parts' checksum lines.
   */
  parts?: ManifestPart[];
  /** The key the parts are ranges of, its columns in export order (order_columns). */
  key_columns?: string[];
  /**
   * The columns the rows are sorted by, in that order: the table's unique key as it is, or its
   * date or timestamp column first (backup.export_order). Absent for a table without a key,
   * and in versions written before the setting (then the rows are in the order of the key).
   */
  order_columns?: string[];
}

/** The objects holding a table's data: its parts, or its one file. */
export function dataObjects<T extends Pick<ManifestTable, 'file' | 'sha256'>>(table: T & { parts?: ManifestPart[] }): (T | ManifestPart)[] {
  return table.parts ?? [table];
}

export interface DatabaseSnapshotInfo {
  isolation: 'repeatable read';
  /** txid_current_snapshot() of the exporting transaction: xmin:xmax:xip. */
  txid_snapshot: string;
  wal_lsn: string;
  taken_at: string;
  server_version: string;
  schema_migration: string | null;
}

export interface Manifest {
  version: string;
  created_at: string;
  created_by: string;
  tables: Record<string, ManifestTable>;
  config_snapshot: Record<string, string>;
  compatibility: {
    min_schema_version: string;
    postgres_version: string;
    schema_migration: string | null;
  };
  /** The one database snapshot every table was read from. */
  consistency: DatabaseSnapshotInfo;
  /** The Temporal run that wrote this version. */
  workflow: { id: string; run_id: string };
}

/** `sha256sum -c` format: "<hex>  <file>" per line, sorted by file for stable output. */
export function renderChecksums(tables: Record<string, Parameters<typeof dataObjects>[0]>): string {
  return Object.values(tables)
    .flatMap(dataObjects)
    .map((t) => `${t.sha256}  ${t.file}\n`)
    .sort()
    .join('');
}

/** File name of a table's data object inside a version folder. */
export function dataFileName(table: string, format: 'parquet' | 'csv.gz'): string {
  return `${table}.${format}`;
}

/** File name of part `index` (from 0) of a split table: `<table>/part-00000.<format>`. */
export function partFileName(table: string, index: number, format: 'parquet' | 'csv.gz'): string {
  return `${table}/part-${String(index).padStart(5, '0')}.${format}`;
}

/** The Content-Type a table's data object is stored with. */
export function dataContentType(format: 'parquet' | 'csv.gz'): string {
  return format === 'parquet' ? 'application/vnd.apache.parquet' : 'application/gzip';
}
