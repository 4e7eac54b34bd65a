import { posix } from 'node:path';

/**
 * Archive entry checks for restore: an entry may only name a path inside the destination,
 * and a symlink may only point inside it. Anything else is refused, never rewritten.
 */
export function entryPathProblem(path: string): string | null {
  if (path.length === 0 || path.length > 4096) return 'empty or too long';
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'absolute path';
  if (path.includes('\\') || path.includes('\0')) return 'backslash or NUL in path';
  if (path.split('/').some((segment) => segment === '..')) return 'path leaves the destination (..)';
  return null;
}

/** Where a symlink at `path` with text `target` points must stay inside the tree. */
export function linkTargetProblem(path: string, target: string): string | null {
  if (target.length === 0 || target.includes('\0')) return 'empty link target';
  if (target.startsWith('/')) return 'link target is absolute';
  const resolved = posix.normalize(posix.join(posix.dirname(path), target));
  return resolved === '..' || resolved.startsWith('../') ? 'link points outside the destination' : null;
}

/** Entry names as archives write them: strip a leading `./` and trailing `/` (directories). */
export function normalizeEntryPath(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}
