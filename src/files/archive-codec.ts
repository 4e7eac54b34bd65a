import { pipeline, type Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import type { ArchiveFormat, FileBackupMetadata } from '../domain/file-backup-metadata.js';
import { decryptStream, encryptStream, type MasterKey } from './encryption.js';

/** Chains streams; an error anywhere destroys the rest, so it reaches whoever reads the end. */
function chain(first: Readable, ...rest: NodeJS.ReadWriteStream[]): Readable {
  if (rest.length === 0) return first;
  return pipeline([first, ...rest], () => {}) as unknown as Readable;
}

const isGzip = (format: ArchiveFormat) => format.endsWith('.gz');

/** source bytes -> gzip (when compressing) -> encrypt (when a key is given) -> `after`. */
export function encodeArchive(source: Readable, format: ArchiveFormat, key: MasterKey | null, after: NodeJS.ReadWriteStream): Readable {
  return chain(source, ...(isGzip(format) ? [createGzip()] : []), ...(key ? [encryptStream(key)] : []), after);
}

/** The inverse: stored bytes -> decrypt -> gunzip -> the file or tar bytes. */
export function decodeArchive(stored: Readable, metadata: FileBackupMetadata, key: MasterKey | null): Readable {
  const format = metadata.archive.format;
  return chain(stored, ...(key ? [decryptStream(key)] : []), ...(isGzip(format) ? [createGunzip()] : []));
}

/** `<name>.gz`, `<name>.tar.gz`, `<name>.tar` or `<name>`, plus `.enc` when encrypted. */
export function archiveFileName(name: string, format: ArchiveFormat, encrypted: boolean): string {
  const ext = { file: '', 'file.gz': '.gz', tar: '.tar', 'tar.gz': '.tar.gz' }[format];
  return `${name}${ext}${encrypted ? '.enc' : ''}`;
}
