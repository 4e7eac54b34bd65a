import { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { ArchivedEntry, FileBackupMetadata } from '../domain/file-backup-metadata.js';
import { IntegrityError } from '../errors.js';
import { normalizeEntryPath } from './entry-paths.js';

/** An entry as read back from an archive, with its bytes for files. */
export type EntryHandler = (entry: ArchivedEntry, body: AsyncIterable<Buffer> | null) => Promise<void>;

const TYPES: Record<string, ArchivedEntry['type'] | undefined> = { file: 'file', directory: 'directory', symlink: 'symlink' };

function fromHeader(header: tar.Headers): ArchivedEntry {
  const path = normalizeEntryPath(header.name);
  const type = TYPES[header.type ?? 'file'];
  if (!type) throw new IntegrityError(`archive entry "${path.slice(0, 200)}" has unsupported type ${header.type}`);
  // tar-stream exposes pax records on the header; its types leave them out.
  const paxMtime = Number((header as { pax?: Record<string, string> }).pax?.mtime);
  const mtime = Number.isFinite(paxMtime) ? new Date(Math.round(paxMtime * 1000)) : (header.mtime ?? new Date(0));
  return {
    path,
    type,
    size: header.size ?? 0,
    mode: (header.mode ?? 0o644) & 0o7777,
    mtime: mtime.toISOString(),
    ...(type === 'symlink' ? { target: header.linkname ?? '' } : {}),
    ...(header.uid !== undefined && header.gid !== undefined ? { uid: header.uid, gid: header.gid } : {}),
  };
}

/**
 * Calls `handle` for every entry of decoded archive bytes, in archive order. A single-file
 * backup has one entry described by its metadata; a tar is read entry by entry (bodies
 * the handler leaves unread are drained, as the format requires).
 */
export async function forEachEntry(decoded: Readable, metadata: FileBackupMetadata, handle: EntryHandler): Promise<void> {
  if (metadata.archive.format === 'file' || metadata.archive.format === 'file.gz') {
    const only = metadata.files[0];
    if (!only || metadata.files.length !== 1) throw new IntegrityError(`${metadata.backup_id}: a single-file backup must list exactly one file`);
    return handle(only, decoded);
  }
  const extract = tar.extract();
  decoded.on('error', (err) => extract.destroy(err));
  decoded.pipe(extract);
  for await (const entry of extract) {
    const parsed = fromHeader(entry.header);
    await handle(parsed, parsed.type === 'file' ? (entry as unknown as AsyncIterable<Buffer>) : null);
    entry.resume();
  }
}
