import { createWriteStream } from 'node:fs';
import { chmod, lchown, lstat, lutimes, mkdir, realpath, rm, symlink, utimes } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArchivedEntry, FileBackupMetadata } from '../domain/file-backup-metadata.js';
import { InputError, IntegrityError } from '../errors.js';
import { forEachEntry } from './archive-entries.js';
import { assertSafeEntry } from './check-entries.js';

async function exists(path: string): Promise<{ directory: boolean } | null> {
  try {
    return { directory: (await lstat(path)).isDirectory() };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Paths the restore would replace (an existing directory where one is restored is merged, not replaced). */
export async function findConflicts(dest: string, files: ArchivedEntry[]): Promise<string[]> {
  const conflicts: string[] = [];
  for (const entry of files) {
    const found = await exists(join(dest, entry.path));
    if (found && !(found.directory && entry.type === 'directory')) conflicts.push(entry.path);
  }
  return conflicts;
}

/** Like tar: owners are restored only by root (anyone else cannot give files away). */
const restoresOwners = process.getuid?.() === 0;

async function applyOwner(target: string, entry: ArchivedEntry): Promise<void> {
  if (restoresOwners && entry.uid !== undefined && entry.gid !== undefined) await lchown(target, entry.uid, entry.gid);
}

/**
 * Writes a checked archive under `dest`. Every parent is resolved and must stay inside
 * dest (a symlink already there cannot redirect a write); files are created exclusively,
 * so the last path component is never followed either. Directory owners, modes and
 * mtimes are applied last, deepest first, so read-only directories can still be filled.
 * Owners come before modes: chown clears set-id bits.
 */
export async function extractEntries(decoded: Readable, metadata: FileBackupMetadata, dest: string, overwrite: boolean): Promise<number> {
  await mkdir(dest, { recursive: true });
  const root = await realpath(dest);
  const directories: ArchivedEntry[] = [];
  let written = 0;
  await forEachEntry(decoded, metadata, async (entry, body) => {
    assertSafeEntry(entry);
    const target = join(root, entry.path);
    await mkdir(dirname(target), { recursive: true });
    const parent = await realpath(dirname(target));
    if (parent !== root && !parent.startsWith(`${root}${sep}`)) throw new IntegrityError(`archive entry "${entry.path.slice(0, 200)}" would be written outside ${dest}`);
    const found = await exists(target);
    if (found && !(found.directory && entry.type === 'directory')) {
      if (!overwrite) throw new InputError(`${target} exists; pass --overwrite to replace it`);
      await rm(target, { recursive: true, force: true });
    }
    const mtime = new Date(entry.mtime);
    if (entry.type === 'directory') {
      await mkdir(target, { recursive: true });
      directories.push(entry);
    } else if (entry.type === 'symlink') {
      await symlink(entry.target!, target);
      await applyOwner(target, entry);
      await lutimes(target, mtime, mtime);
    } else {
      await pipeline(body ? Readable.from(body) : Readable.from([]), createWriteStream(target, { flags: 'wx', mode: 0o600 }));
      await applyOwner(target, entry);
      await chmod(target, entry.mode);
      await utimes(target, mtime, mtime);
    }
    written += 1;
  });
  for (const entry of directories.reverse()) {
    const target = join(root, entry.path);
    await applyOwner(target, entry);
    await chmod(target, entry.mode);
    await utimes(target, new Date(entry.mtime), new Date(entry.mtime));
  }
  return written;
}
