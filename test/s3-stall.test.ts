/**
 * A stalled object store (a MinIO of its own, frozen with SIGSTOP: the kernel still accepts
 * connections, nothing answers) fails S3 calls after storage.idle_timeout_seconds instead of
 * hanging a run for hours; long transfers that keep moving bytes are not cut.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ServiceError } from '../src/errors.js';
import { ensureBucket, minioEndpoint, startMinio, stopMinio } from '../src/stack/minio.js';
import { resolvePaths } from '../src/stack/paths.js';
import type { MinioRecord } from '../src/stack/state.js';
import { createStorage } from '../src/storage/index.js';
import type { Storage } from '../src/storage/types.js';
import { testConfig } from './support/stack.js';

const IDLE_TIMEOUT_S = 2;
/** Larger than loopback socket buffers hold, so the reader must wait for the server mid-object. */
const OBJECT_BYTES = 96 << 20;

describe('a stalled object store', () => {
  let dir: string;
  let minio: MinioRecord;
  let storage: Storage;
  const freeze = () => process.kill(minio.pid!, 'SIGSTOP');
  const thaw = () => process.kill(minio.pid!, 'SIGCONT');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'seedvault-stall-minio-'));
    minio = await startMinio(resolvePaths({ stateDir: dir }), undefined, false);
    await ensureBucket(minio);
    const config = testConfig({ S3_ENDPOINT: minioEndpoint(minio), S3_ACCESS_KEY: minio.accessKey, S3_SECRET_KEY: minio.secretKey, S3_BUCKET: minio.bucket });
    config.storage.idle_timeout_seconds = IDLE_TIMEOUT_S;
    storage = createStorage(config.storage);
    await storage.put('big.bin', Readable.from(chunks(OBJECT_BYTES)));
  });
  after(async () => {
    if (minio?.pid) thaw();
    if (minio) await stopMinio(minio);
    await rm(dir, { recursive: true, force: true });
  });

  test('a call to a frozen server fails after the idle timeout (each attempt), as a one-line ServiceError', { timeout: 60_000 }, async () => {
    freeze();
    const started = Date.now();
    try {
      await assert.rejects(storage.list(''), (err: Error) => {
        assert.ok(err instanceof ServiceError, `${err.name}: ${err.message}`);
        assert.match(err.message, new RegExp(`^cannot reach the object store for s3://${minio.bucket}: .*(timed? ?out|timeout)`, 'i'));
        return true;
      });
    } finally {
      thaw();
    }
    const seconds = (Date.now() - started) / 1000;
    assert.ok(seconds >= IDLE_TIMEOUT_S, `failed after ${seconds.toFixed(1)} s: before the timeout, so not by it`);
    assert.ok(seconds < 30, `failed after ${seconds.toFixed(1)} s`);
    assert.equal((await storage.list('')).length, 1, 'the thawed server answers again');
  });

  test('a download whose server freezes mid-object errors instead of hanging; a live one completes', { timeout: 120_000 }, async () => {
    let bytes = 0;
    for await (const chunk of await storage.get('big.bin')) bytes += (chunk as Buffer).length;
    assert.equal(bytes, OBJECT_BYTES, 'a whole download, slow or not, is never cut');

    const body = await storage.get('big.bin');
    const first = await body[Symbol.asyncIterator]().next();
    assert.ok(!first.done);
    freeze();
    const started = Date.now();
    try {
      await assert.rejects(
        async () => {
          for await (const chunk of body) bytes += (chunk as Buffer).length;
        },
        (err: Error) => err instanceof ServiceError && /big\.bin: no byte of the download for 2 s \(storage\.idle_timeout_seconds\)$/.test(err.message),
      );
    } finally {
      thaw();
    }
    const seconds = (Date.now() - started) / 1000;
    assert.ok(seconds >= IDLE_TIMEOUT_S - 0.5 && seconds < 30, `the stalled download failed after ${seconds.toFixed(1)} s`);
  });
});

function* chunks(total: number): Generator<Buffer> {
  const block = randomBytes(1 << 20);
  for (let sent = 0; sent < total; sent += block.length) yield block;
}
