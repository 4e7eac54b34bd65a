import { ApplicationFailure } from '@temporalio/common';
import { dataObjects, type ManifestTable } from '../../domain/manifest.js';
import { versionPrefix } from '../../domain/version.js';
import { hashStream } from '../../storage/hash.js';
import type { Storage } from '../../storage/types.js';

export interface VersionTables {
  version: string;
  tables: Record<string, ManifestTable>;
}

/**
 * Checks every data object of a version in `storage` against what the export computed. An
 * object whose entry has a crc32, in a store that reports one, is checked with a HEAD: the
 * store verified each part's CRC32 on arrival, and the export computed the same CRC32 over the
 * bytes it hashed, so equal ones mean the store holds those bytes. Otherwise (a local folder, a
 * store without checksums, an entry from before crc32) the object is read back and hashed.
 * The full read-back of every version is `seedvault verify` and the scheduled deep verify.
 */
export async function checkLanded(storage: Storage, { version, tables }: VersionTables, checking: (key: string) => void): Promise<void> {
  const prefix = versionPrefix(version);
  for (const object of Object.values(tables).flatMap(dataObjects)) {
    const key = `${prefix}${object.file}`;
    checking(key);
    const stored = object.crc32 === undefined ? null : await storage.head(key);
    const landed = stored?.crc32 !== undefined
      ? { what: 'crc32', expected: object.crc32, bytes: stored.size, value: stored.crc32 }
      : { what: 'sha256', expected: object.sha256, ...(await readBack(storage, key)) };
    if (landed.bytes !== object.size_bytes || landed.value !== landed.expected) {
      throw ApplicationFailure.nonRetryable(
        `${storage.location}/${key}: landed ${landed.bytes} bytes ${landed.what} ${landed.value}, expected ${object.size_bytes} bytes ${landed.what} ${landed.expected}`,
        'IntegrityError',
      );
    }
  }
}

async function readBack(storage: Storage, key: string): Promise<{ bytes: number; value: string }> {
  const { bytes, sha256 } = await hashStream(await storage.get(key));
  return { bytes, value: sha256 };
}
