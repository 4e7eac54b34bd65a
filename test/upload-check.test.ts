/**
 * The snapshot's check of landed objects (verifyUploads): the CRC32 the export computes over
 * the bytes it hashes is the one MinIO reports for the uploaded object, whatever the size and
 * the chunking; an object checked so is not downloaded, and a changed one is caught without
 * a download. Without a store checksum (a local folder, an old entry) it reads back the sha256.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { checkLanded } from '../src/activities/snapshot/check-landed.js';
import type { ManifestTable } from '../src/domain/manifest.js';
import { createStorage } from '../src/storage/index.js';
import { LocalStorage } from '../src/storage/local.js';
import type { Storage } from '../src/storage/types.js';
import { UPLOAD_PART_SIZE, UploadCrc } from '../src/storage/upload-crc.js';
import { createBucket, testConfig, uniqueName } from './support/stack.js';

const VERSION = '2026.01.01';

/** Real storage, counting downloads. */
function counted(storage: Storage): { storage: Storage; gets: string[] } {
  const gets: string[] = [];
  const proxy = Object.create(storage) as Storage;
  proxy.get = (key, range) => {
    gets.push(key);
    return storage.get(key, range);
  };
  return { storage: proxy, gets };
}

/** Chunks of uneven sizes that straddle the part boundaries. */
function chunked(bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0, step = 777; at < bytes.length; at += step, step = (step * 7) % 3_000_001 + 1) chunks.push(bytes.subarray(at, at + step));
  return chunks;
}

function entry(file: string, bytes: Buffer, crc32: string | undefined): ManifestTable {
  return {
    file,
    rows: 1,
    date_range: null,
    size_bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    ...(crc32 !== undefined && { crc32 }),
    format: 'parquet',
    compression: 'snappy',
    columns: [],
  };
}

describe('checking uploaded objects without reading them back', () => {
  const bucket = uniqueName('landed');
  let folder: string;
  let minio: Storage;
  const sizes = [0, 1000, UPLOAD_PART_SIZE, UPLOAD_PART_SIZE + 1, 3 * UPLOAD_PART_SIZE, 3 * UPLOAD_PART_SIZE + 12_345];
  const objects = sizes.map((size) => ({ size, bytes: randomBytes(size), crc: '' }));

  before(async () => {
    await createBucket(bucket);
    minio = createStorage(testConfig({ S3_BUCKET: bucket }).storage);
    folder = await mkdtemp(join(tmpdir(), 'seedvault-landed-'));
    for (const object of objects) {
      const crc = new UploadCrc();
      for (const chunk of chunked(object.bytes)) crc.update(chunk);
      object.crc = crc.digest();
      await minio.put(`v${VERSION}/o${object.size}`, Readable.from(chunked(object.bytes)));
    }
  });
  after(() => rm(folder, { recursive: true, force: true }));

  test('the CRC32 computed over the written bytes is the one MinIO reports, in one part or many', async () => {
    for (const object of objects) {
      const head = await minio.head(`v${VERSION}/o${object.size}`);
      assert.equal(head?.crc32, object.crc, `${object.size} bytes`);
      assert.match(object.crc, object.size > UPLOAD_PART_SIZE ? /-\d+$/ : /^[A-Za-z0-9+/]{6}==$/, `${object.size} bytes`);
    }
    assert.ok(objects.at(-1)!.crc.endsWith('-4'));
  });

  test('objects that match are checked with a HEAD each, none downloaded', async () => {
    const { storage, gets } = counted(minio);
    const tables = Object.fromEntries(objects.map((o) => [`t${o.size}`, entry(`o${o.size}`, o.bytes, o.crc)]));
    const checked: string[] = [];
    await checkLanded(storage, { version: VERSION, tables }, (key) => checked.push(key));
    assert.equal(checked.length, objects.length);
    assert.deepEqual(gets, []);
  });

  test('an object changed after the upload, same size, is caught by its CRC32 without a download', async () => {
    const object = objects.at(-1)!;
    const changed = Buffer.from(object.bytes);
    changed[UPLOAD_PART_SIZE + 5]! ^= 0xff;
    await minio.put(`v${VERSION}/changed`, Readable.from(chunked(changed)));
    const { storage, gets } = counted(minio);
    await assert.rejects(checkLanded(storage, { version: VERSION, tables: { t: entry('changed', object.bytes, object.crc) } }, () => {}), (err: Error) => {
      assert.match(err.message, new RegExp(`/v${VERSION}/changed: landed ${changed.length} bytes crc32 \\S+-4, expected ${changed.length} bytes crc32 ${object.crc.replace(/[+/]/g, '\\$&')}$`));
      return true;
    });
    assert.deepEqual(gets, []);
  });

  test('without a CRC32 on either side the object is read back and its sha256 compared', async () => {
    const object = objects[1]!;
    const local = new LocalStorage(folder);
    await local.put(`v${VERSION}/o${object.size}`, Readable.from([object.bytes]));
    for (const [name, store, crc] of [['a local folder', local, object.crc], ['an entry from before crc32', minio, undefined]] as const) {
      const { storage, gets } = counted(store);
      await checkLanded(storage, { version: VERSION, tables: { t: entry(`o${object.size}`, object.bytes, crc) } }, () => {});
      assert.deepEqual(gets, [`v${VERSION}/o${object.size}`], name);
      const wrong = { ...entry(`o${object.size}`, object.bytes, crc), sha256: '0'.repeat(64) };
      await assert.rejects(checkLanded(storage, { version: VERSION, tables: { t: wrong } }, () => {}), /bytes sha256 [0-9a-f]{64}, expected \d+ bytes sha256 0{64}$/, name);
    }
  });
});
