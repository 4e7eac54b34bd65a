import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, resolve, sep } from 'node:path';
import { glob } from 'glob';
import { InputError } from '../errors.js';

/** What a backup reads: one file, or paths under a root stored as a tree. */
export interface SourcePlan {
  kind: 'file' | 'tree';
  /** Archive entries are relative to this directory. */
  root: string;
  /** Absolute paths to add (for a single directory: the directory itself, added by content). */
  paths: string[];
  /** Base of the stored archive name (without extensions). */
  name: string;
  /** As the user or the config said it, for metadata. */
  display: string;
}

const GLOB_CHARS = /[*?[\]{}]/;

/** A name safe as a storage key segment; the real names are in metadata. */
function storageName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_').slice(0, 100) || 'backup';
}

function commonDirectory(paths: string[]): string {
  let common = dirname(paths[0]!);
  for (const path of paths) {
    while (!(path === common || path.startsWith(common.endsWith(sep) ? common : `${common}${sep}`))) common = dirname(common);
  }
  return common;
}

/** Each source resolved: existing paths, and the plain (non-glob) sources that do not exist. */
async function resolveSources(sources: string[], cwd: string): Promise<{ found: Set<string>; missing: string[] }> {
  const found = new Set<string>();
  const missing: string[] = [];
  for (const source of sources) {
    if (GLOB_CHARS.test(source)) {
      for (const match of await glob(source, { cwd, absolute: true, dot: true })) found.add(match);
      continue;
    }
    const path = isAbsolute(source) ? source : resolve(cwd, source);
    try {
      await stat(path);
      found.add(path);
    } catch {
      missing.push(source);
    }
  }
  return { found, missing };
}

/**
 * Why a type's configured sources give nothing to back up on this host (no plain path
 * exists and no glob matches), or null when at least one matches. A type enabled by
 * default whose files live elsewhere is then skipped and reported, not failed daily.
 */
export async function nothingToBackUp(sources: string[], cwd: string): Promise<string | null> {
  if (sources.length === 0) return null;
  const { found } = await resolveSources(sources, cwd);
  return found.size === 0 ? `its sources match no file on the worker's host (relative to ${cwd}): ${sources.join(', ')}` : null;
}

/**
 * Resolves a type's sources (files, directories, globs; relative to `cwd`) into one plan.
 * A missing plain path is an error (a typo should not back up nothing); a glob may match none.
 */
export async function planSources(type: string, sources: string[], cwd: string): Promise<SourcePlan> {
  if (sources.length === 0) throw new InputError(`file backup type "${type}" has no sources; set file_backups.types.${type}.sources or pass --source`);
  const { found, missing } = await resolveSources(sources, cwd);
  if (missing.length > 0) throw new InputError(`source ${missing[0]} of type "${type}" does not exist or cannot be read`);
  // A path inside another listed directory is already in the tree; adding it twice would duplicate entries.
  const paths = [...found].sort().filter((path, _, all) => !all.some((other) => path.startsWith(`${other}${sep}`)));
  const display = sources.join(', ');
  if (paths.length === 0) throw new InputError(`the sources of type "${type}" match no files: ${display}`);
  if (paths.length === 1) {
    const only = paths[0]!;
    // The user named this path, so a symlink here is followed; inside a tree links are not.
    const real = await realpath(only);
    const info = await stat(real);
    if (info.isFile()) return { kind: 'file', root: dirname(only), paths: [only], name: storageName(basename(only)), display };
    if (info.isDirectory()) return { kind: 'tree', root: real, paths: [real], name: storageName(basename(only)), display };
    throw new InputError(`source ${only} is neither a file nor a directory`);
  }
  return { kind: 'tree', root: commonDirectory(paths), paths, name: storageName(type), display };
}
