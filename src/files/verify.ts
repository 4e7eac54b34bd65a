import type { FileBackupMetadata } from '../domain/file-backup-metadata.js';
import { InputError } from '../errors.js';
import type { Storage } from '../storage/types.js';
import { decodeArchive } from './archive-codec.js';
import { checkEntries } from './check-entries.js';
import type { MasterKey } from './encryption.js';
import { requireMetadata } from './catalog.js';
import { withVerifiedArchive } from './transfer.js';

/** The key an encrypted backup needs, checked against its recorded key id before any download. */
export function keyForBackup(metadata: FileBackupMetadata, loadKey: () => MasterKey): MasterKey | null {
  if (!metadata.encryption) return null;
  const key = loadKey();
  if (key.id !== metadata.encryption.key_id) {
    throw new InputError(`wrong encryption key for ${metadata.backup_id}: it was encrypted with key ${metadata.encryption.key_id}, the configured key is ${key.id}`);
  }
  return key;
}

export interface VerifyResult {
  backup_id: string;
  files: number;
  size_bytes: number;
}

/** Archive sha256 against metadata.json, then every file's size and sha256 (decrypting when needed). */
export async function verifyFileBackup(storage: Storage, id: string, loadKey: () => MasterKey): Promise<VerifyResult> {
  const metadata = await requireMetadata(storage, id);
  const key = keyForBackup(metadata, loadKey);
  const files = await withVerifiedArchive(storage, metadata, (open) => checkEntries(decodeArchive(open(), metadata, key), metadata));
  return { backup_id: id, files, size_bytes: metadata.size_bytes };
}
