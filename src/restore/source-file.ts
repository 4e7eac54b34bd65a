/**
 * Turns a restore candidate into a local file that passed the file-level checks: for a
 * snapshot, each object (the table's file, or each of its parts) is downloaded to a temporary
 * file while it is hashed, and its size, sha256 and Parquet footer row count must match the
 * manifest; for a fallback glob, the newest matching file is used as it is.
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { glob } from 'glob';
import { dataObjects, LATEST_PREFIX, MANIFEST_FILE, type Manifest, type ManifestTable } from '../domain/manifest.js';
import type { Candidate } from '../domain/restore.js';
import { versionPrefix } from '../domain/version.js';
import { IntegrityError } from '../errors.js';
import { hashTap } from '../files/hash-tap.js';
import { parquetFileInfo } from '../parquet/parquet-reader.js';
import { LocalStorage } from '../storage/local.js';
import { readJson } from '../storage/read-json.js';
import { readLatestVersion } from '../storage/seed-catalog.js';
import type { Storage } from '../storage/types.js';
import { makeTempFolder } from '../temp-folders.js';

export type FileFormat = 'parquet' | 'csv' | 'csv.gz' | 'sql' | 'sql.gz' | 'dump';

/** Fallback files by name: CSV with a header, a plain pg_dump script, or a custom-format dump. */
const FALLBACK_FORMATS: [suffix: string, format: FileFormat][] = [
  ['.csv.gz', 'csv.gz'],
  ['.csv', 'csv'],
  ['.sql.gz', 'sql.gz'],
  ['.sql', 'sql'],
  ['.dump', 'dump'],
];

export interface SourceFile {
  /** The local copy: one file, or a split table's parts in key order. */
  paths: string[];
  format: FileFormat;
  /** Where the data came from, for messages and the restore history. */
  location: string;
  version: string | null;
  /** The manifest's entry when the file comes from a snapshot. */
  entry: ManifestTable | null;
  cleanup(): Promise<void>;
}

/** A snapshot's manifest in `storage`, found the way `version` asks, with the prefix of its files. */
export async function findManifest(storage: Storage, version: string): Promise<{ prefix: string; manifest: Manifest }> {
  const prefixes: string[] = [];
  if (version === 'latest') {
    // v<V>/ never changes once complete; latest/ is briefly without manifest while it moves.
    const latest = await readLatestVersion(storage);
    if (latest) prefixes.push(versionPrefix(latest));
    prefixes.push(LATEST_PREFIX, '');
  } else {
    prefixes.push(versionPrefix(version), '');
  }
  for (const prefix of prefixes) {
    const manifest = await readJson<Manifest>(storage, `${prefix}${MANIFEST_FILE}`);
    // The root holds a manifest when the folder is one version's own; it counts only if it is the one asked for.
    if (manifest && (prefix !== '' || version === 'latest' || manifest.version === version)) return { prefix, manifest };
  }
  throw new IntegrityError(`no complete snapshot ${version} in ${storage.location} (no ${MANIFEST_FILE})`);
}

/** The file of `table` from a candidate: `store` is the configured storage, `mirror` storage.mirror (null: none configured). */
export async function fetchSourceFile(candidate: Candidate, table: string, store: Storage, mirror: Storage | null = null): Promise<SourceFile> {
  if (candidate.kind === 'file') return fallbackFile(candidate.pattern, table);
  if (candidate.kind === 'mirror' && !mirror) throw new IntegrityError('storage.mirror is not configured on this worker');
  const storage = candidate.kind === 'store' ? store : candidate.kind === 'mirror' ? mirror! : new LocalStorage(candidate.root);
  const { prefix, manifest } = await findManifest(storage, candidate.version);
  const entry = manifest.tables[table];
  if (!entry) throw new IntegrityError(`snapshot ${manifest.version} in ${storage.location} has no table ${table}`);
  const location = `${storage.location}/${prefix}${entry.file}`;
  const dir = await makeTempFolder('restore');
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const paths: string[] = [];
    for (const object of dataObjects(entry)) {
      const path = join(dir, object.file.replace(/[^A-Za-z0-9_.-]/g, '_'));
      await downloadChecked(storage, `${prefix}${object.file}`, path, { ...object, format: entry.format, columns: entry.columns });
      paths.push(path);
    }
    return { paths, format: entry.format, location, version: manifest.version, entry, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Downloads one data object to `path`, checking its size, sha256 and (Parquet) footer rows and columns against the manifest. */
async function downloadChecked(storage: Storage, key: string, path: string, expected: DataObjectFacts): Promise<void> {
  const location = `${storage.location}/${key}`;
  const { sha256, bytes } = await downloadHashing(storage, key, path);
  if (bytes !== expected.size_bytes) throw new IntegrityError(`${location}: ${bytes} bytes, the manifest says ${expected.size_bytes}`);
  if (sha256 !== expected.sha256) throw new IntegrityError(`${location}: sha256 ${sha256.slice(0, 16)}… does not match the manifest's ${expected.sha256.slice(0, 16)}…`);
  if (expected.format !== 'parquet') return;
  const info = await parquetFileInfo(path).catch((err: Error) => {
    throw new IntegrityError(`${location}: not a readable Parquet file (${err.message})`);
  });
  if (info.rows !== expected.rows) throw new IntegrityError(`${location}: the Parquet footer says ${info.rows} rows, the manifest ${expected.rows}`);
  // The file's columns must be the ones the manifest lists (a swapped or foreign file otherwise passes verify).
  const fileColumns = info.fields.map((f) => f.name).sort();
  const listed = (expected.columns ?? []).map((c) => c.name).sort();
  if (listed.length > 0 && fileColumns.join('\0') !== listed.join('\0')) {
    throw new IntegrityError(`${location}: the Parquet columns (${fileColumns.join(', ').slice(0, 200)}) are not the manifest's (${listed.join(', ').slice(0, 200)})`);
  }
}

type DataObjectFacts = Pick<ManifestTable, 'rows' | 'size_bytes' | 'sha256' | 'format' | 'columns'>;

async function downloadHashing(storage: Storage, key: string, path: string): Promise<{ sha256: string; bytes: number }> {
  const tap = hashTap();
  await pipeline(await storage.get(key), tap.stream, createWriteStream(path));
  return tap.result();
}

/** Relative patterns are resolved against the worker's working directory. Names sort by date, so the last is the newest. */
async function fallbackFile(pattern: string, table: string): Promise<SourceFile> {
  const matches = (await glob(pattern, { absolute: true, nodir: true, cwd: process.cwd() })).sort();
  const path = matches.at(-1);
  if (!path) throw new IntegrityError(`no file matches ${resolve(pattern)}`);
  const format = FALLBACK_FORMATS.find(([suffix]) => path.endsWith(suffix))?.[1];
  if (!format) throw new IntegrityError(`${path}: fallbacks are CSV with a header (.csv, .csv.gz) or pg_dump output (.sql, .sql.gz, .dump); cannot restore ${table} from it`);
  return { paths: [path], format, location: path, version: null, entry: null, cleanup: async () => {} };
}
