import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ListMultipartUploadsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import { startSnapshot } from '../src/client/snapshot-create.js';
import type { SeedvaultConfig } from '../src/config/schema.js';
import { loadDemoData } from '../src/db/demo-data.js';
import { RESERVATION_MARKER } from '../src/domain/manifest.js';
import { versionPrefix } from '../src/domain/version.js';
import { StorageFullError } from '../src/errors.js';
import { fileBackupStorage } from '../src/files/catalog.js';
import { ensureBucket, minioClient, minioEndpoint, startMinio, stopMinio } from '../src/stack/minio.js';
import { resolvePaths } from '../src/stack/paths.js';
import type { MinioRecord } from '../src/stack/state.js';
import { createStorage } from '../src/storage/index.js';
import { s3NoRoomError } from '../src/storage/s3-no-room.js';
import { S3Storage } from '../src/storage/s3.js';
import { readLatestVersion } from '../src/storage/seed-catalog.js';
import type { Storage } from '../src/storage/types.js';
import type { seedSnapshot } from '../src/workflows/snapshot.js';
import { freshDatabase, type FreshDatabase } from './support/db.js';
import { execFileAsync, runSnapshot, versionsOf } from './support/snapshot.js';
import { testConfig, uniqueName, withWorker } from './support/stack.js';

interface CannedResponse {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

/** An S3 error document as MinIO, RGW and S3 send it. */
function errorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><Resource>/b/k</Resource><RequestId>1</RequestId><HostId>h</HostId></Error>`;
}

/**
 * The real S3 client and its deserializers over canned HTTP answers (`answer` picks one
 * per request), so the classifier sees exactly the errors the SDK throws for them.
 */
function cannedClient(answer: (method: string, query: Record<string, unknown>) => CannedResponse, seen: string[] = []): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint: 'http://s3.invalid',
    forcePathStyle: true,
    credentials: { accessKeyId: 'a', secretAccessKey: 's' },
    maxAttempts: 1,
    requestHandler: {
      async handle(request: { method: string; query: Record<string, unknown> }) {
        seen.push(`${request.method} ${Object.keys(request.query).sort().join('&')}`);
        const { status, body = '', headers = {} } = answer(request.method, request.query);
        return { response: { statusCode: status, headers: { 'content-type': 'application/xml', ...headers }, body: Readable.from([Buffer.from(body)]) } };
      },
    },
  });
}

/** What a PutObject answered with `status` and `body` throws, as the SDK throws it. */
function sdkError(status: number, body: string): Promise<unknown> {
  return cannedClient(() => ({ status, body }))
    .send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' }))
    .then(() => assert.fail('the canned answer is an error'), (err: unknown) => err);
}

describe('S3 "no room" classification', () => {
  const minioFull = 'Storage backend has reached its minimum free drive threshold. Please delete a few objects to proceed.';
  const internal = 'We encountered an internal error, please try again.';
  /** Code, HTTP status, message, and whether it means there is no room. */
  const answers: [string, number, string, boolean][] = [
    ['XMinioStorageFull', 507, minioFull, true],
    ['XMinioAdminBucketQuotaExceeded', 400, 'Bucket quota exceeded', true],
    ['QuotaExceeded', 403, '', true],
    ['InsufficientStorageSpace', 403, 'Insufficient storage space.', true],
    ['EntityTooLarge', 400, 'Your proposed upload exceeds the maximum allowed object size.', true],
    ['InternalError', 500, `${internal}: cause(no space left on device)`, true],
    ['InternalError', 500, `${internal}: cause(disk quota exceeded)`, true],
    ['InternalError', 500, internal, false],
    ['SlowDown', 503, 'Resource requested is unwritable, please reduce your request rate', false],
    ['ServiceUnavailable', 503, 'The service is unavailable.', false],
    ['AccessDenied', 403, 'Access Denied.', false],
    ['NoSuchBucket', 404, 'The specified bucket does not exist', false],
    ['PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold', false],
  ];
  for (const [code, status, message, full] of answers) {
    const cause = message.includes('cause(') ? `, ${message.slice(message.indexOf('cause('))}` : '';
    test(`${code} (${status}${cause}) ${full ? 'is a StorageFullError naming the store and object' : 'is not full: it stays retryable or keeps its meaning'}`, async () => {
      const err = s3NoRoomError(await sdkError(status, errorXml(code, message)), 's3://seeds', 'v2026.01.22/t.parquet');
      if (!full) return assert.equal(err, null);
      assert.ok(err instanceof StorageFullError);
      assert.equal(err.name, 'StorageFullError', 'the type name workflows list as non-retryable');
      assert.match(err.message, new RegExp(`^s3://seeds: no room left writing v2026\\.01\\.22/t\\.parquet \\(${code}, HTTP ${status}`));
      assert.doesNotMatch(err.message, /\n/);
    });
  }

  test('a 507 whose body is not an S3 error document (a proxy) is still full', async () => {
    const err = s3NoRoomError(await sdkError(507, '<html>Insufficient Storage</html>'), 's3://seeds', 'k');
    assert.match(String(err?.message), /^s3:\/\/seeds: no room left writing k \(.*HTTP 507/);
  });

  test('errors that are not S3 answers pass unchanged', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' });
    assert.equal(s3NoRoomError(refused, 's3://seeds', 'k'), null);
    assert.equal(s3NoRoomError(new StorageFullError('x'), 's3://seeds', 'k'), null);
  });

  test('single puts, create-if-absent, server-side copies and the file-backup view all throw it', async () => {
    const full507 = () => ({ status: 507, body: errorXml('XMinioStorageFull', minioFull) });
    const storage = new S3Storage('seeds', cannedClient(full507));
    await assert.rejects(storage.put('v1/manifest.json', '{}'), (err: Error) => err instanceof StorageFullError && /^s3:\/\/seeds: no room left writing v1\/manifest\.json /.test(err.message));
    await assert.rejects(storage.putIfAbsent('v1/.reserved', 'me'), (err: Error) => err instanceof StorageFullError && / writing v1\/\.reserved /.test(err.message));
    await assert.rejects(storage.copy('v1/a', 'latest/a'), (err: Error) => err instanceof StorageFullError && / writing latest\/a /.test(err.message));
    const files = fileBackupStorage(testConfig({}), storage);
    await assert.rejects(files.put('db_20260122_020000/archive.tar.gz', 'x'), (err: Error) => err instanceof StorageFullError && /^s3:\/\/seeds: no room left writing files\/db_20260122_020000\/archive\.tar\.gz /.test(err.message));
    const taken = new S3Storage('seeds', cannedClient(() => ({ status: 412, body: errorXml('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold') })));
    assert.equal(await taken.putIfAbsent('v1/.reserved', 'me'), false, 'an existing marker is still just "taken"');
  });

  test('a multipart upload whose part is refused throws it and aborts the upload', async () => {
    const seen: string[] = [];
    const client = cannedClient((method, query) => {
      if (method === 'POST' && 'uploads' in query) return { status: 200, body: '<InitiateMultipartUploadResult><Bucket>seeds</Bucket><Key>k</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>' };
      if (method === 'DELETE') return { status: 204 };
      if (method === 'PUT' && query.partNumber === '1') return { status: 200, headers: { etag: '"p1"' } };
      return { status: 500, body: errorXml('InternalError', `${internal}: cause(no space left on device)`) };
    }, seen);
    const storage = new S3Storage('seeds', client);
    const body = Readable.from([randomBytes(6 * 1024 * 1024), randomBytes(6 * 1024 * 1024)]);
    await assert.rejects(storage.put('v1/big.parquet', body), (err: Error) => err instanceof StorageFullError && /writing v1\/big\.parquet \(InternalError, HTTP 500: .*cause\(no space left on device\)\)$/.test(err.message));
    assert.ok(seen.some((r) => r.startsWith('POST uploads')), seen.join(', '));
    assert.ok(seen.some((r) => r.startsWith('DELETE uploadId')), `the multipart upload is aborted: ${seen.join(', ')}`);
  });
});

/** Scale 10 demo data: the bars are several times the store, trades alone a fraction of it. */
const SCALE = 10;
const STORE_SIZE = '16m';
const FAIL_WITHIN_S = 60;

/** Every failed activity of a run: its name, the attempt numbers it was started with, its failure. */
async function failedActivities(handle: WorkflowHandle<typeof seedSnapshot>) {
  const events = (await handle.fetchHistory()).events ?? [];
  const names = new Map(events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes!.activityType!.name!]));
  return events.flatMap((e) => {
    const failed = e.activityTaskFailedEventAttributes;
    if (!failed) return [];
    const scheduled = String(failed.scheduledEventId);
    const attempts = events.filter((s) => String(s.activityTaskStartedEventAttributes?.scheduledEventId) === scheduled).map((s) => s.activityTaskStartedEventAttributes!.attempt);
    return [{ name: names.get(scheduled), attempts, type: failed.failure?.applicationFailureInfo?.type, retryState: failed.retryState }];
  });
}

/** What the attempts before the last of each activity failed with (the history keeps the last one's as lastFailure). */
async function earlierAttemptFailures(handle: WorkflowHandle<typeof seedSnapshot>): Promise<string[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  return events.flatMap((e) => {
    const last = e.activityTaskStartedEventAttributes?.lastFailure;
    return last ? [`attempt ${e.activityTaskStartedEventAttributes!.attempt! - 1}: ${last.applicationFailureInfo?.type ?? '?'}: ${last.message}`] : [];
  });
}

async function openUploads(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const out = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  return (out.Uploads ?? []).map((u) => u.Key!);
}

/** 1 MiB chunks of random (incompressible) bytes. */
function randomStream(mib: number): Readable {
  return Readable.from((function* () {
    for (let i = 0; i < mib; i += 1) yield randomBytes(1 << 20);
  })());
}

describe('a full MinIO (its own server on a 16 MiB tmpfs)', () => {
  let dir: string;
  let dataDir: string;
  let mounted = false;
  let minio: MinioRecord | undefined;
  let s3: S3Client;
  let db: FreshDatabase | undefined;
  let config: SeedvaultConfig;
  let storage: Storage;
  let worker: Awaited<ReturnType<typeof withWorker>> | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'seedvault-full-minio-'));
    dataDir = join(dir, 'minio', 'data');
    await mkdir(dataDir, { recursive: true });
    mounted = await execFileAsync('mount', ['-t', 'tmpfs', '-o', `size=${STORE_SIZE}`, 'tmpfs', dataDir]).then(() => true, () => false);
    if (!mounted) return;
    minio = await startMinio(resolvePaths({ stateDir: dir }), undefined, false);
    await ensureBucket(minio);
    s3 = await minioClient(minio);
    db = await freshDatabase('snap_s3_full');
    await loadDemoData(db.url, { scale: SCALE });
    config = testConfig({
      DATABASE_URL: db.url,
      S3_ENDPOINT: minioEndpoint(minio),
      S3_ACCESS_KEY: minio.accessKey,
      S3_SECRET_KEY: minio.secretKey,
      S3_BUCKET: minio.bucket,
      SEEDVAULT_TASK_QUEUE: uniqueName('s3-full'),
    });
    storage = createStorage(config.storage);
    worker = await withWorker(config);
  });
  after(async () => {
    await worker?.stop();
    s3?.destroy();
    if (minio) await stopMinio(minio);
    await db?.drop();
    if (mounted) await execFileAsync('umount', ['-l', dataDir]);
    await rm(dir, { recursive: true, force: true });
  });

  test('a snapshot that outgrows it fails at once (one attempt), discards its upload and keeps the earlier latest', async (t) => {
    if (!mounted) return t.skip('mounting a tmpfs needs root');
    const [small, big] = versionsOf(['07.01', '07.02']) as [string, string];
    await runSnapshot(config, { version: small, tables: 'trades_history' });
    const latestBefore = await storage.list('latest/');
    assert.equal(await readLatestVersion(storage), small);

    const started = Date.now();
    const handle = await startSnapshot(config, { version: big });
    await assert.rejects(handle.result(), (err: Error) => {
      const failure = (err.cause as Error | undefined)?.cause as (Error & { type?: string }) | undefined;
      assert.equal(failure?.type, 'StorageFullError', String(failure?.message));
      assert.match(String(failure?.message), new RegExp(`^s3://${minio!.bucket}: no room left writing v${big.replaceAll('.', '\\.')}/\\S+ \\((XMinioStorageFull, HTTP 507|InternalError, HTTP 500|NoSuchUpload, HTTP 404)`));
      return true;
    });
    const seconds = (Date.now() - started) / 1000;
    assert.ok(seconds < FAIL_WITHIN_S, `failed after ${seconds.toFixed(1)} s, not at once`);

    const failed = await failedActivities(handle);
    const earlier = await earlierAttemptFailures(handle);
    assert.deepEqual(
      failed,
      [{ name: 'exportTables', attempts: [1], type: 'StorageFullError', retryState: proto.temporal.api.enums.v1.RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE }],
      `exactly one attempt of the export, not retried${earlier.length ? `; earlier attempts failed with: ${earlier.join(' | ')}` : ''}`,
    );
    const prefix = versionPrefix(big);
    assert.deepEqual((await storage.list(prefix)).map((o) => o.key), [`${prefix}${RESERVATION_MARKER}`], 'only the claim of the failed version is left');
    assert.deepEqual(await openUploads(s3, minio!.bucket, prefix), [], 'no multipart upload of it is left open');
    assert.equal(await readLatestVersion(storage), small);
    assert.deepEqual(await storage.list('latest/'), latestBefore, 'latest/ is untouched');
    t.diagnostic(`failed after ${seconds.toFixed(1)} s: ${failed.map((f) => `${f.name} attempts ${f.attempts.join(',')}`).join('; ')}`);
  });

  test('file backups share the classification: a stream or a single put bigger than the store fails as full, leaving nothing', async (t) => {
    if (!mounted) return t.skip('mounting a tmpfs needs root');
    const files = fileBackupStorage(config);
    const key = 'portfolio_20260122_020000/archive.tar.gz';
    const full = (err: Error) => err instanceof StorageFullError && new RegExp(`^s3://${minio!.bucket}: no room left writing files/portfolio_20260122_020000/`).test(err.message);
    await assert.rejects(files.put(key, randomStream(24)), full);
    await assert.rejects(files.putIfAbsent('portfolio_20260122_020000/.claimed', 'x'.repeat(24 << 20)), full);
    assert.deepEqual(await files.list('portfolio_20260122_020000/'), []);
    assert.deepEqual(await openUploads(s3, minio!.bucket, 'files/'), []);
  });
});
