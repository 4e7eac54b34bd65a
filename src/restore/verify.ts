/**
 * Verifies a snapshot version: every object the manifest lists is present with its size,
 * sha256 and Parquet footer row count; optionally compares each table with the live
 * database. The database comparison loads the file into a staging table with the restore's
 * own loader and computes, on both sides with the same SQL, the row count, the date range
 * and a content hash: the sum of the first 64 bits of md5(row as text) over the file's
 * columns. The sum is order-independent and runs in constant memory, and since both sides
 * are the same PostgreSQL types, equal data gives equal text and equal hashes.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { CHECKSUMS_FILE } from '../domain/manifest.js';
import { errorMessage } from '../errors.js';
import { describeTable, type TableLayout } from '../parquet/table-catalog.js';
import { readManifest } from '../storage/seed-catalog.js';
import type { Storage } from '../storage/types.js';
import { loadIntoStaging } from './load.js';
import { fetchSourceFile, findManifest, type SourceFile } from './source-file.js';
import { createStaging, dropStaging, STAGING_SCHEMA } from './staging.js';
import { dateRangeSql } from './validate.js';

export interface TableFacts {
  rows: number;
  dateRange: [string, string] | null;
  contentHash: string;
}

export interface TableVerification {
  table: string;
  file: string;
  ok: boolean;
  problems: string[];
  /** With --against-db. */
  file_facts?: TableFacts;
  db_facts?: TableFacts;
}

export interface VersionVerification {
  version: string;
  ok: boolean;
  problems: string[];
  tables: TableVerification[];
}

export interface VerifyOptions {
  storage: Storage;
  version: string;
  /** Compare with this database too. */
  pool?: pg.Pool;
  dateColumns?: Record<string, string | undefined>;
}

export async function verifyVersion(options: VerifyOptions): Promise<VersionVerification> {
  const { storage, version } = options;
  const { prefix, manifest } = await findManifest(storage, version);
  const problems: string[] = [];
  if (!(await storage.head(`${prefix}${CHECKSUMS_FILE}`))) problems.push(`${prefix}${CHECKSUMS_FILE} is missing`);
  const tables: TableVerification[] = [];
  for (const [table, entry] of Object.entries(manifest.tables)) {
    const result: TableVerification = { table, file: `${prefix}${entry.file}`, ok: true, problems: [] };
    let file: SourceFile | null = null;
    try {
      file = await fetchSourceFile({ kind: 'store', label: 'minio', version: manifest.version }, table, storage);
      if (options.pool) Object.assign(result, await compareWithDatabase(options.pool, table, options.dateColumns?.[table], file));
      if (result.file_facts && result.db_facts) {
        for (const fact of ['rows', 'dateRange', 'contentHash'] as const) {
          const [a, b] = [JSON.stringify(result.file_facts[fact]), JSON.stringify(result.db_facts[fact])];
          if (a !== b) result.problems.push(`${table}: ${fact} ${a} in the snapshot, ${b} in the database`);
        }
      }
    } catch (err) {
      result.problems.push(errorMessage(err));
    } finally {
      await file?.cleanup();
    }
    result.ok = result.problems.length === 0;
    problems.push(...result.problems);
    tables.push(result);
  }
  return { version: manifest.version, ok: problems.length === 0, problems, tables };
}

/**
 * Verifies `version` in the primary store and, with `storage.mirror`, the same version in
 * the mirror: its manifest must be the primary's, its objects pass the same checks (not the
 * database comparison: equal bytes compare alike). With a mirror every problem names its
 * store; the result is one per version, tables merged by name.
 */
export async function verifyInStores(options: VerifyOptions & { mirror: Storage | null }): Promise<VersionVerification> {
  const { mirror, ...primaryOptions } = options;
  const primary = await verifyVersion(primaryOptions);
  if (!mirror) return primary;
  const { version } = primary;
  const copy = await verifyVersion({ storage: mirror, version }).catch((err: unknown): VersionVerification => ({ version, ok: false, problems: [errorMessage(err)], tables: [] }));
  // The file checks hold each store to its own manifest; the manifests must agree too (rows, ranges, checksums).
  const [primaryManifest, mirrorManifest] = await Promise.all([readManifest(options.storage, version), readManifest(mirror, version).catch(() => null)]);
  if (primaryManifest && mirrorManifest && JSON.stringify(mirrorManifest.tables) !== JSON.stringify(primaryManifest.tables)) {
    copy.problems.unshift(`${mirror.location}: the manifest of ${version} describes its tables otherwise than the primary's`);
  }
  const named = (store: string, problems: string[]) => problems.map((p) => `${store}: ${p}`);
  const tables = primary.tables.map((t): TableVerification => {
    const problems = [...named('primary', t.problems), ...named('mirror', copy.tables.find((c) => c.table === t.table)?.problems ?? [])];
    return { ...t, ok: problems.length === 0, problems };
  });
  const problems = [...named('primary', primary.problems), ...named('mirror', copy.problems)];
  return { version, ok: problems.length === 0, problems, tables };
}

async function compareWithDatabase(pool: pg.Pool, table: string, dateColumn: string | undefined, file: SourceFile): Promise<Pick<TableVerification, 'file_facts' | 'db_facts'>> {
  const client = await pool.connect();
  const staging = `${pg.escapeIdentifier(STAGING_SCHEMA)}.${pg.escapeIdentifier(`verify_${randomBytes(6).toString('hex')}`)}`;
  try {
    const layout = await describeTable(client, table, undefined, dateColumn);
    await createStaging(client, layout.sql, staging, 'scratch');
    await loadIntoStaging({ client, layout, staging, file });
    const columns = file.entry?.columns.map((c) => c.name) ?? layout.columns.map((c) => c.name);
    return { file_facts: await tableFacts(client, staging, layout, columns), db_facts: await tableFacts(client, layout.sql, layout, columns) };
  } finally {
    await dropStaging(client, staging).catch(() => {});
    client.release();
  }
}

export async function tableFacts(client: pg.ClientBase, relation: string, layout: TableLayout, columns: string[]): Promise<TableFacts> {
  const row = columns.map((c) => pg.escapeIdentifier(c)).join(', ');
  const { rows } = await client.query<{ rows: string; first: string | null; last: string | null; hash: string | null }>(
    `SELECT count(*) AS rows, ${dateRangeSql(layout)},
            sum(('x' || left(md5(ROW(${row})::text), 16))::bit(64)::bigint::numeric)::text AS hash
       FROM ${relation}`,
  );
  const r = rows[0]!;
  return { rows: Number(r.rows), dateRange: r.first && r.last ? [r.first, r.last] : null, contentHash: r.hash ?? '0' };
}
