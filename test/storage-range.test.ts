/**
 * Storage.get with a byte range, which the restore uses to read a Parquet object's tail
 * before the rest: the same bytes from MinIO, under a storage.prefix, and from a local folder.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import { createStorage } from '../src/storage/index.js';
import { LocalStorage } from '../src/storage/local.js';
import type { Storage } from '../src/storage/types.js';
import { createBucket, testConfig, uniqueName } from './support/stack.js';

describe('Storage.get with a byte range', () => {
  const bucket = uniqueName('range');
  const bytes = randomBytes(300_000);
  const key = 'v2026.01.01/table.parquet';
  let folder: string;
  const stores: [string, Storage][] = [];

  before(async () => {
    await createBucket(bucket);
    folder = await mkdtemp(join(tmpdir(), 'seedvault-range-'));
    stores.push(['MinIO', createStorage(testConfig({ S3_BUCKET: bucket }).storage)]);
    stores.push(['MinIO under a prefix', createStorage(testConfig({ S3_BUCKET: bucket, SEEDVAULT_STORAGE_PREFIX: 'team/' }).storage)]);
    stores.push(['a local folder', new LocalStorage(folder)]);
    for (const [, storage] of stores) await storage.put(key, Readable.from([bytes]));
  });
  after(() => rm(folder, { recursive: true, force: true }));

  test('returns exactly the bytes asked for: the start, the middle, the last byte and the whole tail', async () => {
    for (const [name, storage] of stores) {
      for (const [start, end] of [[0, 4], [1000, 70_001], [bytes.length - 1, bytes.length], [bytes.length - 65_536, bytes.length]] as const) {
        const got = await buffer(await storage.get(key, { start, end }));
        assert.ok(got.equals(bytes.subarray(start, end)), `${name}: bytes ${start}-${end} (got ${got.length})`);
      }
      assert.ok((await buffer(await storage.get(key))).equals(bytes), `${name}: the whole object without a range`);
    }
  });
});
