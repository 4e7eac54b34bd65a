import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ArchivedEntry, FileBackupMetadata } from '../domain/file-backup-metadata.js';
import { IntegrityError } from '../errors.js';
import { forEachEntry } from './archive-entries.js';
import { entryPathProblem, linkTargetProblem } from './entry-paths.js';

function same(a: ArchivedEntry, b: ArchivedEntry): boolean {
  return a.type === b.type && a.size === b.size && (a.target ?? '') === (b.target ?? '');
}

/** An unsafe path or link anywhere refuses the whole archive. */
export function assertSafeEntry(entry: ArchivedEntry): void {
  const problem = entryPathProblem(entry.path) ?? (entry.type === 'symlink' ? linkTargetProblem(entry.path, entry.target ?? '') : null);
  if (problem) throw new IntegrityError(`archive entry "${entry.path.slice(0, 200)}" refused: ${problem}`);
}

/**
 * Reads the whole decoded archive once and checks it against metadata.json: every entry
 * safe to extract, listed, of the listed type and size, files with the listed sha256,
 * nothing missing. Restore runs this before writing anything.
 */
export async function checkEntries(decoded: Readable, metadata: FileBackupMetadata): Promise<number> {
  const expected = new Map(metadata.files.map((f) => [f.path, f]));
  for (const listed of metadata.files) assertSafeEntry(listed);
  const seen = new Set<string>();
  await forEachEntry(decoded, metadata, async (entry, body) => {
    assertSafeEntry(entry);
    const listed = expected.get(entry.path);
    if (!listed || seen.has(entry.path)) throw new IntegrityError(`archive entry "${entry.path.slice(0, 200)}" is ${listed ? 'duplicated' : 'not listed in metadata.json'}`);
    seen.add(entry.path);
    if (body) {
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of body) {
        hash.update(chunk);
        bytes += chunk.length;
      }
      if (bytes !== listed.size || hash.digest('hex') !== listed.sha256) {
        throw new IntegrityError(`${metadata.backup_id}: file "${entry.path.slice(0, 200)}" does not match its size and sha256 in metadata.json`);
      }
    }
    if (!same({ ...entry, size: body ? listed.size : entry.size }, listed)) throw new IntegrityError(`archive entry "${entry.path.slice(0, 200)}" differs from metadata.json`);
  });
  const missing = metadata.files.find((f) => !seen.has(f.path));
  if (missing) throw new IntegrityError(`${metadata.backup_id}: "${missing.path.slice(0, 200)}" is listed in metadata.json but missing from the archive`);
  return seen.size;
}
