import { randomBytes } from 'node:crypto';
import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { abandonedTempFolders, ownedTempPrefix, type TempFolderKind, type TempFolderOwner } from './domain/temp-folders.js';

/** This process as the owner of its temporary folders. */
export const THIS_PROCESS: TempFolderOwner = { pid: process.pid, token: randomBytes(4).toString('hex') };

/** A new folder of `kind` in the temp dir, named after this process (see domain/temp-folders). */
export function makeTempFolder(kind: TempFolderKind): Promise<string> {
  return mkdtemp(join(tmpdir(), ownedTempPrefix(kind, THIS_PROCESS)));
}

/** Whether a process with this pid exists (EPERM: it does, run by another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Bytes of the files under `path` (links not followed). */
async function treeBytes(path: string): Promise<number> {
  const info = await lstat(path);
  if (!info.isDirectory()) return info.size;
  let bytes = 0;
  for (const name of await readdir(path)) bytes += await treeBytes(join(path, name));
  return bytes;
}

/** Removes the temporary folders of processes that are gone (a worker killed mid-restore); returns what it removed. */
export async function removeAbandonedTempFolders(dir: string = tmpdir()): Promise<{ folders: number; bytes: number }> {
  const names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  let bytes = 0;
  const abandoned = abandonedTempFolders(names, THIS_PROCESS, isProcessAlive);
  for (const name of abandoned) {
    const path = join(dir, name);
    bytes += await treeBytes(path);
    await rm(path, { recursive: true, force: true });
  }
  return { folders: abandoned.length, bytes };
}
