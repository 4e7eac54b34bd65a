import { backupPrefix, FILE_METADATA, type ArchiveFormat, type FileBackupMetadata } from '../domain/file-backup-metadata.js';
import type { Storage } from '../storage/types.js';
import { archiveFileName, encodeArchive } from './archive-codec.js';
import { CHUNK_BYTES, ENCRYPTION_FORMAT, type MasterKey } from './encryption.js';
import { hashTap } from './hash-tap.js';
import { packFile, packTree } from './pack.js';
import { planSources } from './sources.js';

export interface CreateFileBackupInput {
  id: string;
  type: string;
  sources: string[];
  /** Relative sources are resolved against this directory. */
  cwd: string;
  description: string;
  compress: boolean;
  timestamp: string;
  workflow: { id: string; run_id: string } | null;
}

/**
 * Writes one backup, streaming end to end: source -> tar (directories) -> gzip -> encrypt
 * -> sha256 -> storage. metadata.json goes last: its presence means the backup is complete.
 * Writing the same id again (a retried activity) replaces the same objects.
 */
export async function createFileBackup(storage: Storage, input: CreateFileBackupInput, key: MasterKey | null, onBytes?: (storedBytes: number) => void): Promise<FileBackupMetadata> {
  const plan = await planSources(input.type, input.sources, input.cwd);
  const format: ArchiveFormat = plan.kind === 'file' ? (input.compress ? 'file.gz' : 'file') : input.compress ? 'tar.gz' : 'tar';
  const file = archiveFileName(plan.name, format, key !== null);
  const packed = plan.kind === 'file' ? packFile(plan) : packTree(plan);
  const tap = hashTap(onBytes);
  const body = encodeArchive(packed.stream, format, key, tap.stream);
  await storage.put(`${backupPrefix(input.id)}${file}`, body, { contentType: 'application/octet-stream' });
  const { files, skipped, sourceBytes } = await packed.done;
  const archive = tap.result();
  const metadata: FileBackupMetadata = {
    backup_id: input.id,
    backup_type: input.type,
    timestamp: input.timestamp,
    size_bytes: archive.bytes,
    compressed: input.compress,
    source_path: plan.display,
    description: input.description,
    archive: { file, format, sha256: archive.sha256, source_bytes: sourceBytes },
    files,
    skipped,
    encryption: key ? { algorithm: 'AES-256-GCM', format: ENCRYPTION_FORMAT, chunk_bytes: CHUNK_BYTES, key_id: key.id } : null,
    workflow: input.workflow,
  };
  await storage.put(`${backupPrefix(input.id)}${FILE_METADATA}`, `${JSON.stringify(metadata, null, 2)}\n`, { contentType: 'application/json' });
  return metadata;
}
