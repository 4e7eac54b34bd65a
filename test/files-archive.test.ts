import assert from 'node:assert/strict';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, test } from 'node:test';
import { backupPrefix } from '../src/domain/file-backup-metadata.js';
import { InputError, IntegrityError } from '../src/errors.js';
import { createFileBackup } from '../src/files/create.js';
import { decryptStream, encryptStream } from '../src/files/encryption.js';
import { keyId } from '../src/files/key.js';
import { restoreFileBackup } from '../src/files/restore.js';
import { verifyFileBackup } from '../src/files/verify.js';
import { LocalStorage } from '../src/storage/local.js';
import { assertSameTree, craftBackup, ESCAPING_ARCHIVES, makeAwkwardTree, tempDir } from './support/file-backups.js';

const keyOf = (byte: number) => {
  const key = Buffer.alloc(32, byte);
  return { key, id: keyId(key) };
};
const KEY = keyOf(7);
const noKey = () => {
  throw new Error('no key expected');
};

async function backupOf(storage: LocalStorage, source: string, id: string, options: { compress?: boolean; key?: typeof KEY } = {}) {
  return createFileBackup(
    storage,
    { id, type: id.split('_')[0]!, sources: [source], cwd: '/', description: 'test', compress: options.compress ?? true, timestamp: new Date().toISOString(), workflow: null },
    options.key ?? null,
  );
}

describe('file backup archives (local folder, no workflow)', () => {
  test('a directory tree round-trips: content, modes, mtimes, symlink, unusual names', async () => {
    const source = await tempDir('src');
    await makeAwkwardTree(source);
    const storage = new LocalStorage(await tempDir('store'));
    const metadata = await backupOf(storage, source, 'trading_history_20251217_162039');
    assert.equal(metadata.archive.format, 'tar.gz');
    assert.match(metadata.archive.file, /\.tar\.gz$/);
    assert.ok(metadata.files.some((f) => f.path === 'link to empty' && f.type === 'symlink'));
    assert.deepEqual(await verifyFileBackup(storage, metadata.backup_id, noKey), { backup_id: metadata.backup_id, files: metadata.files.length, size_bytes: metadata.size_bytes });
    const dest = join(await tempDir('dest'), 'restored');
    await restoreFileBackup(storage, { id: metadata.backup_id, dest, overwrite: false }, noKey);
    await assertSameTree(dest, source);
  });

  test('a single file is stored as .gz, or as is without compression', async () => {
    const dir = await tempDir('single');
    await writeFile(join(dir, 'portfolio_state.json'), '{"cash": 5}');
    const storage = new LocalStorage(await tempDir('store'));
    const gz = await backupOf(storage, join(dir, 'portfolio_state.json'), 'portfolio_20251217_162039');
    assert.equal(gz.archive.file, 'portfolio_state.json.gz');
    const plain = await backupOf(storage, join(dir, 'portfolio_state.json'), 'portfolio_20251217_162040', { compress: false });
    assert.equal(plain.archive.file, 'portfolio_state.json');
    assert.equal(await storage.getText(`${backupPrefix(plain.backup_id)}portfolio_state.json`), '{"cash": 5}');
    const dest = await tempDir('dest');
    await restoreFileBackup(storage, { id: gz.backup_id, dest, overwrite: false }, noKey);
    await assertSameTree(dest, dir);
    await assert.rejects(restoreFileBackup(storage, { id: gz.backup_id, dest, overwrite: false }, noKey), (err) => err instanceof InputError && /--overwrite/.test(err.message));
    await restoreFileBackup(storage, { id: gz.backup_id, dest, overwrite: true }, noKey);
  });

  test('several sources and globs form one tree relative to their common folder', async () => {
    const root = await tempDir('multi');
    await mkdir(join(root, 'a/inner'), { recursive: true });
    await mkdir(join(root, 'b'));
    await writeFile(join(root, 'a/inner/x.txt'), 'x');
    await writeFile(join(root, 'b/y.json'), '{}');
    await writeFile(join(root, 'b/z.txt'), 'not matched');
    await symlink(join(root, 'a'), join(root, 'link-to-a'));
    const storage = new LocalStorage(await tempDir('store'));
    const metadata = await createFileBackup(
      storage,
      { id: 'config_20251217_162039', type: 'config', sources: ['a', 'a/inner/x.txt', 'b/*.json'], cwd: root, description: '', compress: true, timestamp: new Date().toISOString(), workflow: null },
      null,
    );
    assert.equal(metadata.archive.file, 'config.tar.gz');
    assert.deepEqual(metadata.files.map((f) => f.path), ['a', 'a/inner', 'a/inner/x.txt', 'b/y.json'], 'a path inside a listed folder is not added twice');
    const viaLink = await backupOf(storage, join(root, 'link-to-a'), 'config_20251217_162040');
    assert.deepEqual(viaLink.files.map((f) => f.path), ['inner', 'inner/x.txt'], 'a symlink named as the source is followed');
  });

  test('a tampered archive fails verify and restore writes nothing', async () => {
    const source = await tempDir('src');
    await makeAwkwardTree(source);
    const storage = new LocalStorage(await tempDir('store'));
    const metadata = await backupOf(storage, source, 'config_20251217_162039');
    const key = `${backupPrefix(metadata.backup_id)}${metadata.archive.file}`;
    const bytes = await buffer(await storage.get(key));
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    await storage.put(key, Readable.from([bytes]));
    await assert.rejects(verifyFileBackup(storage, metadata.backup_id, noKey), (err) => err instanceof IntegrityError && /sha256/.test(err.message));
    const dest = await tempDir('dest');
    await assert.rejects(restoreFileBackup(storage, { id: metadata.backup_id, dest, overwrite: false }, noKey), IntegrityError);
    assert.deepEqual(await readdir(dest), []);
  });

  test('encrypted: the right key restores, a wrong or missing key is a clear error', async () => {
    const source = await tempDir('src');
    await makeAwkwardTree(source);
    const storage = new LocalStorage(await tempDir('store'));
    const metadata = await backupOf(storage, source, 'strategies_20251217_162039', { key: KEY });
    assert.deepEqual(metadata.encryption, { algorithm: 'AES-256-GCM', format: 'seedvault-stream-v1', chunk_bytes: 65536, key_id: KEY.id });
    assert.match(metadata.archive.file, /\.tar\.gz\.enc$/);
    assert.ok(!JSON.stringify(metadata).includes(KEY.key.toString('hex')), 'the key never lands in metadata');
    const dest = join(await tempDir('dest'), 'x');
    await restoreFileBackup(storage, { id: metadata.backup_id, dest, overwrite: false }, () => [KEY]);
    await assertSameTree(dest, source);
    await assert.rejects(verifyFileBackup(storage, metadata.backup_id, () => [keyOf(8)]), (err) => err instanceof InputError && /^wrong encryption key for strategies_20251217_162039/.test(err.message) && !err.message.includes('\n'));
  });

  test('the encrypted stream detects tampering, truncation and a swapped key', async () => {
    const plain = Buffer.alloc(200_000, 1);
    const sealed = await buffer(Readable.from([plain]).pipe(encryptStream(KEY)));
    assert.deepEqual(await buffer(Readable.from([sealed]).pipe(decryptStream(KEY))), plain);
    const flipped = Buffer.from(sealed);
    flipped[100_000]! ^= 1;
    const open = (bytes: Buffer, key = KEY) => buffer(Readable.from([bytes]).pipe(decryptStream(key)));
    await assert.rejects(open(flipped), /failed authentication/);
    await assert.rejects(open(sealed.subarray(0, 36 + 65536 + 16)), /failed authentication at chunk 0 \(end\)/, 'cut at a chunk boundary');
    await assert.rejects(open(sealed.subarray(0, sealed.length - 5)), /failed authentication/);
    await assert.rejects(open(sealed, keyOf(9)), /wrong encryption key/);
  });

  test('an archive with ../ entries crafted by hand is refused and nothing is written', async () => {
    const storage = new LocalStorage(await tempDir('store'));
    for (const [i, [what, entries]] of ESCAPING_ARCHIVES.entries()) {
      const id = `data_20251217_16204${i}`;
      await craftBackup(storage, id, entries);
      const parent = await tempDir('parent');
      await assert.rejects(restoreFileBackup(storage, { id, dest: join(parent, 'dest'), overwrite: true }, noKey), (err) => err instanceof IntegrityError && /refused/.test(err.message), what);
      assert.deepEqual(await readdir(parent), [], `${what}: nothing written`);
    }
  });
});
