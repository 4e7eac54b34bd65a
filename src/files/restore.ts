import { isAbsolute } from 'node:path';
import { InputError } from '../errors.js';
import type { Storage } from '../storage/types.js';
import { decodeArchive } from './archive-codec.js';
import { requireMetadata } from './catalog.js';
import { checkEntries } from './check-entries.js';
import type { MasterKey } from './encryption.js';
import { extractEntries, findConflicts } from './extract.js';
import { withVerifiedArchive } from './transfer.js';
import { keyForBackup } from './verify.js';

export interface RestoreResult {
  backup_id: string;
  dest: string;
  entries: number;
}

/**
 * Restores one backup into `dest`. Nothing is written until the archive's sha256, every
 * entry's path and every file's sha256 have been checked and no existing path would be
 * replaced without `overwrite`.
 */
export async function restoreFileBackup(
  storage: Storage,
  input: { id: string; dest: string; overwrite: boolean },
  loadKeys: () => MasterKey[],
): Promise<RestoreResult> {
  if (!isAbsolute(input.dest)) throw new InputError(`restore destination must be an absolute path, got "${input.dest.slice(0, 200)}"`);
  const metadata = await requireMetadata(storage, input.id);
  const key = keyForBackup(metadata, loadKeys);
  const entries = await withVerifiedArchive(storage, metadata, async (open) => {
    await checkEntries(decodeArchive(open(), metadata, key), metadata);
    const conflicts = await findConflicts(input.dest, metadata.files);
    if (conflicts.length > 0 && !input.overwrite) {
      throw new InputError(`restore of ${input.id} would replace ${conflicts.length} existing path(s) in ${input.dest} (first: ${conflicts[0]!.slice(0, 200)}); pass --overwrite`);
    }
    return extractEntries(decodeArchive(open(), metadata, key), metadata, input.dest, input.overwrite);
  });
  return { backup_id: input.id, dest: input.dest, entries };
}
