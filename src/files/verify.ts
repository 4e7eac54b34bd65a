import type { FileBackupMetadata } from '../domain/file-backup-metadata.js';
import { InputError } from '../errors.js';
import type { Storage } from '../storage/types.js';
import { decodeArchive } from './archive-codec.js';
import { checkEntries } from './check-entries.js';
import type { MasterKey } from './encryption.js';
import { requireMetadata } from './catalog.js';
import { withVerifiedArchive } from './transfer.js';

/** The key an encrypted backup needs, found by its recorded key id before any download. */
export function keyForBackup(metadata: FileBackupMetadata, loadKeys: () => MasterKey[]): MasterKey | null {
  if (!metadata.encryption) return null;
  const keys = loadKeys();
  const key = keys.find((k) => k.id === metadata.encryption!.key_id);
  if (!key) {
    const configured = keys.length === 0 ? 'no key is configured' : `the configured key${keys.length > 1 ? 's are' : ' is'} ${keys.map((k) => k.id).join(', ')}`;
    throw new InputError(
      `wrong encryption key for ${metadata.backup_id}: it was encrypted with key ${metadata.encryption.key_id}, ${configured} ` +
        '(a rotated-out key goes in file_backups.encryption.previous_key_files or previous_key_envs)',
    );
  }
  return key;
}

export interface VerifyResult {
  backup_id: string;
  files: number;
  size_bytes: number;
}

/** Archive sha256 against metadata.json, then every file's size and sha256 (decrypting when needed). */
export async function verifyFileBackup(storage: Storage, id: string, loadKeys: () => MasterKey[]): Promise<VerifyResult> {
  const metadata = await requireMetadata(storage, id);
  const key = keyForBackup(metadata, loadKeys);
  const files = await withVerifiedArchive(storage, metadata, (open) => checkEntries(decodeArchive(open(), metadata, key), metadata));
  return { backup_id: id, files, size_bytes: metadata.size_bytes };
}
