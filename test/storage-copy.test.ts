/**
 * S3Storage.copy, which moves latest/: an object over the single-copy limit (S3 refuses a
 * CopyObject source over 5 GiB) is copied in parts; a source replaced mid-copy fails the copy
 * and leaves neither the destination nor an unfinished upload. The limits are lowered so MinIO
 * sees megabytes, not gigabytes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { HeadObjectCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3Storage } from '../src/storage/s3.js';
import { createBucket, testS3Client, uniqueName } from './support/stack.js';

const MIB = 1024 * 1024;

describe('S3Storage.copy', () => {
  const bucket = uniqueName('copy');
  let client: S3Client;
  let storage: S3Storage;
  const etag = async (key: string) => (await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ETag!;
  const unfinishedUploads = async () => (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];

  before(async () => {
    await createBucket(bucket);
    client = testS3Client();
    storage = new S3Storage(bucket, client, undefined, { singleMaxBytes: 6 * MIB, partBytes: 5 * MIB });
  });
  after(() => client.destroy());

  test('an object over the single-copy limit is copied in parts: the same bytes and content type', async () => {
    const bytes = randomBytes(13 * MIB);
    await storage.put('v1/big.parquet', Readable.from([bytes]), { contentType: 'application/vnd.apache.parquet' });
    await storage.copy('v1/big.parquet', 'latest/big.parquet');
    assert.ok((await buffer(await storage.get('latest/big.parquet'))).equals(bytes), 'the copy holds the source bytes');
    // A multipart object's ETag ends with its part count: 13 MiB in parts of 5 MiB.
    assert.match(await etag('latest/big.parquet'), /-3"$/);
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'latest/big.parquet' }));
    assert.equal(head.ContentType, 'application/vnd.apache.parquet');
    assert.deepEqual(await unfinishedUploads(), []);
  });

  test('an object within the limit is copied with one CopyObject', async () => {
    const bytes = randomBytes(MIB);
    await storage.put('v1/small.parquet', Readable.from([bytes]));
    await storage.copy('v1/small.parquet', 'latest/small.parquet');
    assert.ok((await buffer(await storage.get('latest/small.parquet'))).equals(bytes));
    assert.doesNotMatch(await etag('latest/small.parquet'), /-\d+"$/);
  });

  test('a source replaced mid-copy fails the copy, aborts the upload and writes no destination', async () => {
    // Five parts of 5 MiB or less.
    await storage.put('v2/big.parquet', Readable.from([randomBytes(23 * MIB)]));
    let replaced = false;
    // The fault: another writer replaces the source before the last part is copied.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UploadPartCopyCommand' && (args.input as { PartNumber?: number }).PartNumber === 5) {
          await storage.put('v2/big.parquet', Readable.from([randomBytes(23 * MIB)]));
          replaced = true;
        }
        return next(args);
      },
      { step: 'initialize', name: 'replaceSourceMidCopy' },
    );
    try {
      await assert.rejects(storage.copy('v2/big.parquet', 'latest/v2.parquet'), {
        message: `s3://${bucket}/v2/big.parquet changed while it was copied to latest/v2.parquet; nothing was written`,
      });
    } finally {
      client.middlewareStack.remove('replaceSourceMidCopy');
    }
    assert.ok(replaced, 'the source was replaced during the copy');
    assert.equal(await storage.head('latest/v2.parquet'), null);
    assert.deepEqual(await unfinishedUploads(), []);
  });

  test('a failed part copy starts no other part and aborts the upload after the ones in flight settle', async () => {
    // Five parts, four copied at once: parts 1-4 start together, part 5 waits for a free lane.
    await storage.put('v4/big.parquet', Readable.from([randomBytes(23 * MIB)]));
    const events: string[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'AbortMultipartUploadCommand') events.push('abort');
        if (context.commandName !== 'UploadPartCopyCommand') return next(args);
        const part = (args.input as { PartNumber: number }).PartNumber;
        events.push(`start ${part}`);
        // The fault: part 2 fails at once while parts 1, 3 and 4 are still copying.
        if (part === 2) throw new Error('injected part copy failure');
        await sleep(300);
        try {
          return await next(args);
        } finally {
          events.push(`end ${part}`);
        }
      },
      { step: 'initialize', name: 'failOnePartCopy' },
    );
    try {
      await assert.rejects(storage.copy('v4/big.parquet', 'latest/v4.parquet'), { message: 'injected part copy failure' });
      // Part copies still running after the copy returned, or started after it, log by then.
      await sleep(1000);
    } finally {
      client.middlewareStack.remove('failOnePartCopy');
    }
    assert.ok(events.includes('start 2'), 'the failing part copy ran');
    assert.ok(events.includes('abort'), 'the upload was aborted');
    assert.ok(!events.includes('start 5'), `no part started after the failure: ${events.join(', ')}`);
    assert.deepEqual(events.slice(events.indexOf('abort')), ['abort'], `the upload was aborted after every started part settled: ${events.join(', ')}`);
    assert.equal(await storage.head('latest/v4.parquet'), null);
    assert.deepEqual(await unfinishedUploads(), []);
  });

  test('a missing source is a one-line error naming it', async () => {
    await assert.rejects(storage.copy('v3/gone.parquet', 'latest/gone.parquet'), { message: `cannot copy s3://${bucket}/v3/gone.parquet to latest/gone.parquet: no such object` });
  });
});
