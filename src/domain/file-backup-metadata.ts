/**
 * metadata.json of a file backup: the seed 003 fields plus what verify and restore need.
 * Its presence in `<backup_id>/` means the backup is complete.
 */
export const FILE_METADATA = 'metadata.json';
export const FILE_CLAIM_MARKER = '.claim';

/** How the archive was built: one file (`file`) or a tree (`tar`), then gzip or not. */
export type ArchiveFormat = 'file' | 'file.gz' | 'tar' | 'tar.gz';

export interface ArchivedEntry {
  /** Path relative to the restore destination, `/`-separated. */
  path: string;
  type: 'file' | 'directory' | 'symlink';
  size: number;
  /** Files only. */
  sha256?: string;
  mode: number;
  /** ISO time with milliseconds. */
  mtime: string;
  /** Symlinks only: the link text as stored. */
  target?: string;
  /** Numeric owner and group at backup time; a restore running as root applies them. */
  uid?: number;
  gid?: number;
}

export interface EncryptionInfo {
  algorithm: 'AES-256-GCM';
  format: string;
  chunk_bytes: number;
  /** A fingerprint of the key (never the key): tells which key a restore needs. */
  key_id: string;
}

export interface FileBackupMetadata {
  backup_id: string;
  backup_type: string;
  timestamp: string;
  /** Bytes of the stored archive. */
  size_bytes: number;
  compressed: boolean;
  source_path: string;
  description: string;
  archive: { file: string; format: ArchiveFormat; sha256: string; source_bytes: number };
  files: ArchivedEntry[];
  /** Things under the source that were left out, with why (sockets, links leaving the tree). */
  skipped: { path: string; reason: string }[];
  encryption: EncryptionInfo | null;
  workflow: { id: string; run_id: string } | null;
}

/** `<backup_id>/` under the file backup prefix. */
export function backupPrefix(id: string): string {
  return `${id}/`;
}

/** What backup_metadata records of a written file backup, beyond the archive's size and sha256. */
export interface FileBackupFacts {
  /** Archived entries (files, directories, links): the row's record_count. */
  entries: number;
  /**
   * Share of what the sources held that the archive holds, floored to 0.01: 100 unless
   * something was skipped (sockets, links leaving the tree).
   */
  completeness_pct: number;
  /** Oldest and newest modification time of the archived files: the span of data the backup holds. */
  data_start: string | null;
  data_end: string | null;
}

export function fileBackupFacts(metadata: Pick<FileBackupMetadata, 'files' | 'skipped'>): FileBackupFacts {
  const entries = metadata.files.length;
  const seen = entries + metadata.skipped.length;
  // A loop, not Math.min(...): a tree may list more files than a call takes arguments.
  let first = Infinity;
  let last = -Infinity;
  for (const f of metadata.files) {
    if (f.type !== 'file') continue;
    const at = Date.parse(f.mtime);
    first = Math.min(first, at);
    last = Math.max(last, at);
  }
  const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : null);
  return { entries, completeness_pct: seen === 0 ? 100 : Math.floor((10_000 * entries) / seen) / 100, data_start: iso(first), data_end: iso(last) };
}
