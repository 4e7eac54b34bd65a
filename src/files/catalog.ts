import type { SeedvaultConfig } from '../config/schema.js';
import { backupIdCandidate, backupIdProblem, parseBackupId } from '../domain/file-backup-id.js';
import { backupPrefix, FILE_CLAIM_MARKER, FILE_METADATA, type FileBackupMetadata } from '../domain/file-backup-metadata.js';
import { InputError } from '../errors.js';
import { createStorage } from '../storage/index.js';
import { LocalStorage } from '../storage/local.js';
import { PrefixedStorage } from '../storage/prefixed.js';
import { readJson } from '../storage/read-json.js';
import type { Storage } from '../storage/types.js';

/**
 * Where file backups live: `file_backups.local_path` when set, else the seeds' storage
 * under `file_backups.prefix` (default `files/`), so they never mix with `v<version>/`.
 */
export function fileBackupStorage(config: SeedvaultConfig, seeds: Storage = createStorage(config.storage)): Storage {
  const { local_path, prefix } = config.file_backups;
  return local_path ? new LocalStorage(local_path) : new PrefixedStorage(seeds, prefix);
}

export interface StoredBackup {
  backup_id: string;
  backup_type: string;
  /** From metadata.json, or the id's second for an incomplete backup. */
  timestamp: string;
  complete: boolean;
  metadata: FileBackupMetadata | null;
}

export function assertBackupId(id: string): string {
  const problem = backupIdProblem(id);
  if (problem) throw new InputError(`invalid backup id "${id.slice(0, 64)}": ${problem}`);
  return id;
}

export async function readMetadata(storage: Storage, id: string): Promise<FileBackupMetadata | null> {
  return readJson<FileBackupMetadata>(storage, `${backupPrefix(assertBackupId(id))}${FILE_METADATA}`);
}

export async function requireMetadata(storage: Storage, id: string): Promise<FileBackupMetadata> {
  const metadata = await readMetadata(storage, id);
  if (!metadata) throw new InputError(`file backup ${id} not found or incomplete in ${storage.location}`);
  return metadata;
}

/** Every backup folder, newest first; folders that are not backup ids are ignored. */
export async function listFileBackups(storage: Storage, type?: string): Promise<StoredBackup[]> {
  const ids = (await storage.listPrefixes(''))
    .map((p) => p.slice(0, -1))
    .filter((id) => backupIdProblem(id) === null && (!type || parseBackupId(id).type === type));
  const backups = await Promise.all(
    ids.map(async (id): Promise<StoredBackup> => {
      const metadata = await readMetadata(storage, id);
      const parsed = parseBackupId(id);
      return { backup_id: id, backup_type: parsed.type, timestamp: metadata?.timestamp ?? parsed.at, complete: metadata !== null, metadata };
    }),
  );
  return backups.sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp) || (a.backup_id < b.backup_id ? 1 : -1));
}

/**
 * Claims the first free id of `base`, `base-2`, ... with a create-if-absent marker, so two
 * runs in the same second never share a folder; a retry of the same owner finds its claim.
 */
export async function claimBackupId(storage: Storage, base: string, owner: string): Promise<string> {
  for (let attempt = 1; ; attempt += 1) {
    const id = backupIdCandidate(base, attempt);
    const key = `${backupPrefix(assertBackupId(id))}${FILE_CLAIM_MARKER}`;
    if ((await storage.putIfAbsent(key, owner)) || (await storage.getText(key)) === owner) return id;
  }
}

/** Deletes metadata.json first, so a half-deleted backup reads as incomplete, never as complete. */
export async function deleteFileBackup(storage: Storage, id: string): Promise<number> {
  const prefix = backupPrefix(assertBackupId(id));
  const keys = (await storage.list(prefix)).map((o) => o.key);
  if (keys.length === 0) throw new InputError(`file backup ${id} not found in ${storage.location}`);
  await storage.delete(keys.filter((k) => k.endsWith(`/${FILE_METADATA}`)));
  await storage.delete(keys.filter((k) => !k.endsWith(`/${FILE_METADATA}`)));
  return keys.length;
}
