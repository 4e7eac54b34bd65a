import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { backupPrefix, type FileBackupMetadata } from '../domain/file-backup-metadata.js';
import { IntegrityError } from '../errors.js';
import type { Storage } from '../storage/types.js';
import { makeTempFolder } from '../temp-folders.js';
import { hashTap } from './hash-tap.js';

/**
 * Downloads a backup's archive to a temporary file while hashing it and checks size and
 * sha256 against metadata.json before `use` sees a byte; the file is removed afterwards.
 * `open` gives a fresh stream of the verified archive each time it is called.
 */
export async function withVerifiedArchive<T>(storage: Storage, metadata: FileBackupMetadata, use: (open: () => Readable) => Promise<T>): Promise<T> {
  const dir = await makeTempFolder('files');
  try {
    const path = join(dir, 'archive');
    const key = `${backupPrefix(metadata.backup_id)}${metadata.archive.file}`;
    const tap = hashTap();
    await pipeline(await storage.get(key), tap.stream, createWriteStream(path, { mode: 0o600 }));
    const landed = tap.result();
    if (landed.bytes !== metadata.size_bytes || landed.sha256 !== metadata.archive.sha256) {
      throw new IntegrityError(
        `${metadata.backup_id}: archive ${metadata.archive.file} is ${landed.bytes} bytes sha256 ${landed.sha256.slice(0, 16)}…, metadata.json says ${metadata.size_bytes} bytes sha256 ${metadata.archive.sha256.slice(0, 16)}…`,
      );
    }
    return await use(() => createReadStream(path));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
