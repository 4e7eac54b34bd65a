/**
 * Turns a restore candidate into a local file that passed the file-level checks: for a
 * snapshot, each object (the table's file, or each of its parts) is downloaded to a temporary
 * file while it is hashed, and its size, sha256 and Parquet footer row count must match the
 * manifest; for a fallback glob, the newest matching file is used as it is.
 *
 * A table in one Parquet object can instead be loaded while it downloads: its footer is
 * checked first (range read), the loader reads row groups as they arrive, and `arrived`
 * settles once size, sha256 and footer are checked. What was loaded counts only then.
 */
import { createWriteStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { glob } from 'glob';
import { dataObjects, LATEST_PREFIX, MANIFEST_FILE, type Manifest, type ManifestTable } from '../domain/manifest.js';
import type { Candidate } from '../domain/restore.js';
import { versionPrefix } from '../domain/version.js';
import { IntegrityError } from '../errors.js';
import { hashTap } from '../files/hash-tap.js';
import { prepareArriving, tailStart, writeSegments, type ArrivingParquet } from '../parquet/arriving-file.js';
import { footerLength, rowGroupEnds } from '../parquet/parquet-footer.js';
import { parquetFileInfo, type ParquetFileInfo, type ParquetSource } from '../parquet/parquet-reader.js';
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
  /** The local copy: one file, or a split table's parts in key order (empty while `arriving`). */
  paths: string[];
  /** A Parquet object still downloading, for a loader to read as it arrives. */
  arriving?: ArrivingParquet;
  /** With `arriving`: settles once the download is complete and matches the manifest, rejects with what did not. */
  arrived?: Promise<void>;
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

/**
 * The file of `table` from a candidate: `store` is the configured storage, `mirror` storage.mirror
 * (null: none configured). `whileLoading`: a table in one Parquet object comes back still arriving.
 */
export async function fetchSourceFile(candidate: Candidate, table: string, store: Storage, mirror: Storage | null = null, { whileLoading = false } = {}): Promise<SourceFile> {
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
    const objects = dataObjects(entry);
    if (whileLoading && entry.format === 'parquet' && objects.length === 1) {
      const download = await startArriving(storage, `${prefix}${objects[0]!.file}`, dir, { ...objects[0]!, format: entry.format, columns: entry.columns });
      const stop = async () => {
        download.stop();
        await download.arrived.catch(() => {});
        await cleanup();
      };
      return { paths: [], arriving: download.arriving, arrived: download.arrived, format: entry.format, location, version: manifest.version, entry, cleanup: stop };
    }
    const paths: string[] = [];
    for (const object of objects) {
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

/**
 * Runs `load` on `file`; for an arriving file, alongside its download: a failed download stops
 * the load and is the failure reported (the source's fault, not the load's). A load that fails
 * first still waits for the download, so a corrupt object is reported as such, not as bad data.
 */
export async function loadAsItArrives<T>(file: SourceFile, load: (signal?: AbortSignal) => Promise<T>): Promise<T> {
  if (!file.arrived) return load();
  const stop = new AbortController();
  const arrived = file.arrived.catch((err: unknown) => {
    stop.abort(err);
    throw err;
  });
  const [loaded, downloaded] = await Promise.allSettled([load(stop.signal), arrived]);
  if (downloaded.status === 'rejected') throw downloaded.reason;
  if (loaded.status === 'rejected') throw loaded.reason;
  return loaded.value;
}

/** Downloads one data object to `path`, checking its size, sha256 and (Parquet) footer rows and columns against the manifest. */
async function downloadChecked(storage: Storage, key: string, path: string, expected: DataObjectFacts): Promise<void> {
  const location = `${storage.location}/${key}`;
  const tap = hashTap();
  await pipeline(await storage.get(key), tap.stream, createWriteStream(path));
  checkDownload(location, tap.result(), expected);
  if (expected.format === 'parquet') await checkParquetFooter(location, path, expected);
}

/**
 * Starts downloading a Parquet object for a loader to read as it arrives (arriving-file.ts),
 * once its size and footer (rows, columns, row group layout) match the manifest.
 */
async function startArriving(storage: Storage, key: string, dir: string, expected: DataObjectFacts): Promise<{ arriving: ArrivingParquet; arrived: Promise<void>; stop(): void }> {
  const location = `${storage.location}/${key}`;
  const size = (await storage.head(key))?.size;
  if (size === undefined) throw new IntegrityError(`${location} is missing`);
  checkSize(location, size, expected);
  const { ends, tail } = await readTail(storage, key, size, location);
  const arriving = await prepareArriving(dir, ends, tail);
  await checkParquetFooter(location, arriving, expected);
  const controller = new AbortController();
  const arrived = (async () => {
    const tap = hashTap();
    let last = '';
    const segments = async (body: AsyncIterable<Buffer>) => {
      last = await writeSegments(body, dir, ends);
    };
    await pipeline(await storage.get(key), tap.stream, segments, { signal: controller.signal });
    checkDownload(location, tap.result(), expected);
    // The loader read the tail fetched first: it must be the one the checked download ends with.
    if (!(await readFile(last)).equals(tail)) throw new IntegrityError(`${location}: its tail changed during the download`);
  })();
  arrived.catch(() => {}); // awaited by the loader's caller; a stop before that is not an unhandled failure
  return { arriving, arrived, stop: () => controller.abort() };
}

/** Where the object's row groups end, and its bytes after them (indexes and footer), by range reads. */
async function readTail(storage: Storage, key: string, size: number, location: string): Promise<{ ends: number[]; tail: Buffer }> {
  const tailOf = async (length: number) => buffer(await storage.get(key, { start: size - length, end: size }));
  let tail = await tailOf(Math.min(size, TAIL_GUESS_BYTES));
  if (tail.length < 12 || tail.subarray(-4).toString('latin1') !== 'PAR1') throw new IntegrityError(`${location}: not a Parquet file (no PAR1 at its end)`);
  const footer = footerLength(tail) + 8;
  if (footer > size - 4) throw new IntegrityError(`${location}: its Parquet footer length (${footer} bytes) does not fit the file`);
  if (footer > tail.length) tail = await tailOf(footer);
  let ends: number[];
  try {
    ends = rowGroupEnds(tail);
  } catch (err) {
    throw new IntegrityError(`${location}: not a readable Parquet footer (${(err as Error).message})`);
  }
  const start = tailStart(ends);
  if (ends.some((end, i) => end < (ends[i - 1] ?? 4)) || start > size - footer) throw new IntegrityError(`${location}: the Parquet footer's row group offsets do not fit the file`);
  if (size - start > tail.length) tail = await tailOf(size - start);
  return { ends, tail: tail.subarray(tail.length - (size - start)) };
}

/** A first guess at the tail's size (indexes and footer): one read for an ordinary table. */
const TAIL_GUESS_BYTES = 256 * 1024;

function checkSize(location: string, bytes: number, expected: DataObjectFacts): void {
  if (bytes !== expected.size_bytes) throw new IntegrityError(`${location}: ${bytes} bytes, the manifest says ${expected.size_bytes}`);
}

function checkDownload(location: string, { sha256, bytes }: { sha256: string; bytes: number }, expected: DataObjectFacts): void {
  checkSize(location, bytes, expected);
  if (sha256 !== expected.sha256) throw new IntegrityError(`${location}: sha256 ${sha256.slice(0, 16)}… does not match the manifest's ${expected.sha256.slice(0, 16)}…`);
}

/** The footer's rows and columns must be the manifest's. */
async function checkParquetFooter(location: string, source: ParquetSource, expected: DataObjectFacts): Promise<ParquetFileInfo> {
  const info = await parquetFileInfo(source).catch((err: Error) => {
    throw new IntegrityError(`${location}: not a readable Parquet file (${err.message})`);
  });
  if (info.rows !== expected.rows) throw new IntegrityError(`${location}: the Parquet footer says ${info.rows} rows, the manifest ${expected.rows}`);
  // The file's columns must be the ones the manifest lists (a swapped or foreign file otherwise passes verify).
  const fileColumns = info.fields.map((f) => f.name).sort();
  const listed = (expected.columns ?? []).map((c) => c.name).sort();
  if (listed.length > 0 && fileColumns.join('\0') !== listed.join('\0')) {
    throw new IntegrityError(`${location}: the Parquet columns (${fileColumns.join(', ').slice(0, 200)}) are not the manifest's (${listed.join(', ').slice(0, 200)})`);
  }
  return info;
}

type DataObjectFacts = Pick<ManifestTable, 'rows' | 'size_bytes' | 'sha256' | 'format' | 'columns'>;

/** Relative patterns are resolved against the worker's working directory. Names sort by date, so the last is the newest. */
async function fallbackFile(pattern: string, table: string): Promise<SourceFile> {
  const matches = (await glob(pattern, { absolute: true, nodir: true, cwd: process.cwd() })).sort();
  const path = matches.at(-1);
  if (!path) throw new IntegrityError(`no file matches ${resolve(pattern)}`);
  const format = FALLBACK_FORMATS.find(([suffix]) => path.endsWith(suffix))?.[1];
  if (!format) throw new IntegrityError(`${path}: fallbacks are CSV with a header (.csv, .csv.gz) or pg_dump output (.sql, .sql.gz, .dump); cannot restore ${table} from it`);
  return { paths: [path], format, location: path, version: null, entry: null, cleanup: async () => {} };
}
