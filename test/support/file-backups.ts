import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, lchown, lstat, lutimes, mkdir, mkdtemp, readdir, readFile, readlink, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { FILE_METADATA, type FileBackupMetadata } from '../../src/domain/file-backup-metadata.js';
import type { Storage } from '../../src/storage/types.js';

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `seedvault-${prefix}-`));
}

/**
 * A tree with what trips up archivers: nested folders, binary and empty files, a symlink,
 * spaces and unicode in names, unusual modes and sub-second mtimes.
 */
export async function makeAwkwardTree(root: string): Promise<void> {
  await mkdir(join(root, 'nested/deeper/deepest'), { recursive: true });
  await mkdir(join(root, 'empty dir'));
  await writeFile(join(root, 'portfolio state.json'), JSON.stringify({ cash: 1000, positions: [] }));
  await writeFile(join(root, 'nested/binary.bin'), randomBytes(300_000));
  await writeFile(join(root, 'nested/deeper/empty.txt'), '');
  await writeFile(join(root, 'nested/deeper/deepest/Ünïcödé 日本.csv'), 'a,b\n1,2\n');
  await writeFile(join(root, 'run.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(root, 'run.sh'), 0o750);
  await symlink('nested/deeper/empty.txt', join(root, 'link to empty'));
  const when = new Date('2025-12-17T16:20:39.123Z');
  for (const path of ['portfolio state.json', 'nested/binary.bin', 'nested/deeper/empty.txt', 'run.sh']) await utimes(join(root, path), when, when);
  await lutimes(join(root, 'link to empty'), when, when);
  for (const dir of ['nested/deeper/deepest', 'nested/deeper', 'nested', 'empty dir']) await utimes(join(root, dir), when, when);
  // Foreign owners where we may set them (root): a restore as root must bring them back.
  if (process.getuid?.() === 0) {
    for (const path of ['run.sh', 'nested/deeper', 'link to empty']) await lchown(join(root, path), 1234, 5678);
  }
}

export interface TreeEntry {
  /** Type, mode, owner, content hash or link text. */
  what: string;
  mtimeMs: number;
}

/** Everything restore must reproduce, per path. */
export async function describeTree(root: string): Promise<Record<string, TreeEntry>> {
  const out: Record<string, TreeEntry> = {};
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const abs = join(dir, name);
      const path = `${prefix}${name}`;
      const info = await lstat(abs);
      const mode = (info.mode & 0o7777).toString(8);
      const owner = `${info.uid}:${info.gid}`;
      if (info.isSymbolicLink()) out[path] = { what: `link ${owner} ${await readlink(abs)}`, mtimeMs: info.mtimeMs };
      else if (info.isDirectory()) {
        await walk(abs, `${path}/`);
        out[path] = { what: `dir ${mode} ${owner}`, mtimeMs: info.mtimeMs };
      } else out[path] = { what: `file ${mode} ${owner} ${createHash('sha256').update(await readFile(abs)).digest('hex')}`, mtimeMs: info.mtimeMs };
    }
  };
  await walk(root, '');
  return out;
}

/** Same paths, types, modes and contents; mtimes equal to the millisecond restores keep. */
export async function assertSameTree(actualRoot: string, expectedRoot: string): Promise<void> {
  const actual = await describeTree(actualRoot);
  const expected = await describeTree(expectedRoot);
  const what = (tree: Record<string, TreeEntry>) => Object.fromEntries(Object.entries(tree).map(([p, e]) => [p, e.what]));
  assert.deepEqual(what(actual), what(expected));
  for (const [path, entry] of Object.entries(expected)) {
    assert.ok(Math.abs(actual[path]!.mtimeMs - entry.mtimeMs) < 1, `${path}: mtime ${actual[path]!.mtimeMs} != ${entry.mtimeMs}`);
  }
}

export type CraftedEntry = { name: string; body: string } | { name: string; linkname: string };

/**
 * Stores a hand-made tar.gz under `id` with the metadata.json an attacker would write to
 * match it: the archive's correct sha256, listing only the harmless `ok.txt`.
 */
export async function craftBackup(storage: Storage, id: string, entries: CraftedEntry[]): Promise<void> {
  const pack = tar.pack();
  for (const e of entries) {
    if ('linkname' in e) pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname });
    else pack.entry({ name: e.name, size: Buffer.byteLength(e.body) }, e.body);
  }
  pack.finalize();
  const archive = await buffer(Readable.from(pack, { objectMode: false }).pipe(createGzip()));
  const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
  const metadata: FileBackupMetadata = {
    backup_id: id, backup_type: id.split('_')[0]!, timestamp: new Date().toISOString(), size_bytes: archive.length, compressed: true,
    source_path: 'crafted', description: '', skipped: [], encryption: null, workflow: null,
    archive: { file: 'x.tar.gz', format: 'tar.gz', sha256: sha(archive), source_bytes: 4 },
    files: [{ path: 'ok.txt', type: 'file', size: 4, sha256: sha('fine'), mode: 0o644, mtime: new Date().toISOString() }],
  };
  await storage.put(`${id}/x.tar.gz`, Readable.from([archive]));
  await storage.put(`${id}/${FILE_METADATA}`, JSON.stringify(metadata));
}

/** Archives that try to write outside the destination, each beside a harmless entry. */
export const ESCAPING_ARCHIVES: [string, CraftedEntry[]][] = [
  ['dotdot', [{ name: 'ok.txt', body: 'fine' }, { name: '../escape.txt', body: 'evil' }]],
  ['absolute', [{ name: 'ok.txt', body: 'fine' }, { name: '/tmp/seedvault-abs.txt', body: 'evil' }]],
  ['link out', [{ name: 'ok.txt', body: 'fine' }, { name: 'out', linkname: '../../etc' }]],
];
