/**
 * Restore rules shared by the workflow, activities and CLI (pure): which sources a table is
 * tried from, in order (seed 002: object store latest/ → local files with the same layout →
 * the source's fallback globs → empty; `storage.mirror` right after the primary store).
 */
export const RESTORE_MODES = ['replace', 'if-empty', 'merge'] as const;
export type RestoreMode = (typeof RESTORE_MODES)[number];

export const RESTORE_SOURCES = ['auto', 'minio', 's3', 'local', 'mirror'] as const;
export type RestoreSource = (typeof RESTORE_SOURCES)[number];

/** One place a table's data may come from. */
export type Candidate =
  /** The configured object store (`storage.type` minio or s3), `latest` or a version. */
  | { kind: 'store'; label: 'minio' | 's3'; version: string }
  /** `storage.mirror`, `latest` or a version. */
  | { kind: 'mirror'; label: 'mirror'; version: string }
  /** A folder with the bucket's layout, or a single version folder holding manifest.json. */
  | { kind: 'folder'; label: 'local'; root: string; version: string }
  /** A file matched by one of the source's `fallback` globs (CSV with a header, optionally gzipped). */
  | { kind: 'file'; label: 'fallback'; pattern: string };

export interface ChainSettings {
  storageType: 'minio' | 's3' | 'local';
  localPath: string;
  /** Whether `storage.mirror` is configured. */
  mirror?: boolean;
  /** `--path`: replaces storage.local_path. */
  path?: string;
  fallback: string[] | null;
}

export function restoreChain(source: RestoreSource, version: string, settings: ChainSettings): Candidate[] {
  const folder: Candidate = { kind: 'folder', label: 'local', root: settings.path ?? settings.localPath, version };
  const store: Candidate[] = settings.storageType === 'local' ? [] : [{ kind: 'store', label: settings.storageType, version }];
  const mirror: Candidate[] = settings.mirror ? [{ kind: 'mirror', label: 'mirror', version }] : [];
  switch (source) {
    case 'minio':
    case 's3':
      return store;
    case 'local':
      return [folder];
    case 'mirror':
      return mirror;
    case 'auto': {
      const fallbacks = (settings.fallback ?? []).map((pattern): Candidate => ({ kind: 'file', label: 'fallback', pattern }));
      // The mirror follows the primary store: the bucket, or the folder when storage.type is local.
      const stores = settings.storageType === 'local' ? [folder, ...mirror] : [...store, ...mirror, folder];
      return [...stores, ...fallbacks];
    }
  }
}

export function describeCandidate(candidate: Candidate): string {
  switch (candidate.kind) {
    case 'store':
    case 'mirror':
      return `${candidate.label} ${candidate.version}`;
    case 'folder':
      return `local ${candidate.root} (${candidate.version})`;
    case 'file':
      return `fallback ${candidate.pattern}`;
  }
}

/** The failure type of a commit that found staging tables changed since validation; its details name the tables. */
export const STAGING_CHANGED = 'StagingChanged';

/** What happened to one table. */
export interface TableOutcome {
  table: string;
  status: 'restored' | 'skipped' | 'empty' | 'failed';
  required: boolean;
  source: string | null;
  location: string | null;
  version: string | null;
  rowsLoaded: number;
  rowsAfter: number | null;
  dateRange: [string, string] | null;
  /** Seconds per step of the staging that succeeded (download, load, validate, build indexes). */
  stageSeconds: Record<string, number> | null;
  /** Connections that loaded the staging table (a split table's parts load in parallel); absent before it was recorded. */
  loadConnections?: number;
  /** Every source tried before the one used (or all of them), and why it was not used. */
  rejected: { source: string; reason: string }[];
  message: string | null;
}
