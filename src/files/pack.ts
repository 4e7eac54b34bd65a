import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { once } from 'node:events';
import { basename, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { ArchivedEntry } from '../domain/file-backup-metadata.js';
import { linkTargetProblem } from './entry-paths.js';
import { hashTap } from './hash-tap.js';
import type { SourcePlan } from './sources.js';

export interface PackResult {
  files: ArchivedEntry[];
  skipped: { path: string; reason: string }[];
  sourceBytes: number;
}

const toPosix = (path: string) => path.split(sep).join('/');
const mode = (m: number) => m & 0o7777;
/** Restores set mtimes to the millisecond, so that is the precision kept. */
const toMillis = (mtimeMs: number) => new Date(Math.round(mtimeMs));

/** Streams one file into the tar while hashing it; tar-stream fails if the size changed since lstat. */
async function addFile(pack: tar.Pack, abs: string, header: tar.Headers): Promise<string> {
  const hash = createHash('sha256');
  const entry = pack.entry(header);
  for await (const chunk of createReadStream(abs)) {
    hash.update(chunk as Buffer);
    if (!entry.write(chunk)) await once(entry, 'drain');
  }
  entry.end();
  await once(entry, 'finish');
  return hash.digest('hex');
}

/**
 * Walks the plan in a stable order, adding every directory, file and symlink (stored as a
 * link, never followed) to the tar. Symlinks that leave the source tree and special files
 * are skipped and listed.
 */
async function walk(plan: SourcePlan, pack: tar.Pack): Promise<PackResult> {
  const result: PackResult = { files: [], skipped: [], sourceBytes: 0 };
  const visit = async (abs: string): Promise<void> => {
    const path = toPosix(relative(plan.root, abs));
    const info = await lstat(abs);
    const mtime = toMillis(info.mtimeMs);
    // pax keeps the milliseconds that the ustar header (whole seconds) would drop.
    const common = { name: path, mode: mode(info.mode), uid: info.uid, gid: info.gid, mtime, pax: { mtime: (mtime.getTime() / 1000).toFixed(3) } };
    const owner = { uid: info.uid, gid: info.gid };
    if (info.isDirectory()) {
      if (path) {
        pack.entry({ ...common, type: 'directory' });
        result.files.push({ path, type: 'directory', size: 0, mode: common.mode, mtime: mtime.toISOString(), ...owner });
      }
      for (const name of (await readdir(abs)).sort()) await visit(join(abs, name));
    } else if (info.isSymbolicLink()) {
      const target = await readlink(abs);
      const problem = linkTargetProblem(path, target);
      if (problem) return void result.skipped.push({ path, reason: problem });
      pack.entry({ ...common, type: 'symlink', linkname: target });
      result.files.push({ path, type: 'symlink', size: 0, mode: common.mode, mtime: mtime.toISOString(), target, ...owner });
    } else if (info.isFile()) {
      const sha256 = await addFile(pack, abs, { ...common, type: 'file', size: info.size });
      result.files.push({ path, type: 'file', size: info.size, sha256, mode: common.mode, mtime: mtime.toISOString(), ...owner });
      result.sourceBytes += info.size;
    } else {
      result.skipped.push({ path, reason: 'not a regular file, directory or symlink' });
    }
  };
  for (const abs of plan.paths) await visit(abs);
  return result;
}

/** The tar of a tree as a stream, and the entry list once the stream has been read to the end. */
export function packTree(plan: SourcePlan): { stream: Readable; done: Promise<PackResult> } {
  const pack = tar.pack();
  const done = walk(plan, pack).then(
    (result) => {
      pack.finalize();
      return result;
    },
    (err: unknown) => {
      pack.destroy(err as Error);
      throw err;
    },
  );
  done.catch(() => {});
  return { stream: Readable.from(pack, { objectMode: false }), done };
}

/** A single file: its bytes as a stream and its entry, hashed on the way. */
export function packFile(plan: SourcePlan): { stream: Readable; done: Promise<PackResult> } {
  const abs = plan.paths[0]!;
  const tap = hashTap();
  const stream = createReadStream(abs).on('error', (err) => tap.stream.destroy(err)).pipe(tap.stream);
  const done = (async () => {
    const info = await stat(abs);
    await finished(stream);
    // Size as read, so it always matches the hash even if the file grew meanwhile.
    const { sha256, bytes } = tap.result();
    const entry: ArchivedEntry = {
      path: basename(abs), type: 'file', size: bytes, sha256, mode: mode(info.mode), mtime: toMillis(info.mtimeMs).toISOString(), uid: info.uid, gid: info.gid,
    };
    return { files: [entry], skipped: [], sourceBytes: bytes };
  })();
  done.catch(() => {});
  return { stream, done };
}
