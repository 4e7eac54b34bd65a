import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  BucketAlreadyOwnedByYou,
  type BucketLocationConstraint,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { StoreConfig } from '../config/schema.js';
import { mapWithConcurrency } from '../domain/concurrency.js';
import { errorMessage, InputError, SeedvaultError, ServiceError } from '../errors.js';
import { watchIdle } from './idle-watchdog.js';
import { assertSafeKey } from './keys.js';
import { s3NoRoomError } from './s3-no-room.js';
import type { ByteRange, ObjectInfo, Storage } from './types.js';
import { UPLOAD_PART_SIZE } from './upload-crc.js';

/** A TCP connect to the endpoint that takes longer than this fails (and is retried). */
const CONNECT_TIMEOUT_MS = 10_000;

/** storage.idle_timeout_seconds' default, for clients built without a config. */
const DEFAULT_IDLE_MS = 120_000;

/**
 * How S3Storage.copy copies: one CopyObject up to `singleMaxBytes` (S3 refuses a larger source),
 * else a multipart upload of ranged part copies of `partBytes` (more when S3's 10,000 parts
 * would not hold the object).
 */
export interface CopyLimits {
  singleMaxBytes: number;
  partBytes: number;
}

export const S3_COPY_LIMITS: CopyLimits = { singleMaxBytes: 5 * 1024 ** 3, partBytes: 512 * 1024 ** 2 };

/** S3's most parts in one multipart upload. */
const MAX_PARTS = 10_000;

/** Part copies in flight at once: the store does the copying, the worker only waits. */
const PART_COPIES_AT_ONCE = 4;

function isMissing(err: unknown): boolean {
  return err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata.httpStatusCode === 404);
}

/** S3 and MinIO (path-style addressing, explicit endpoint) behind the Storage interface. */
export class S3Storage implements Storage {
  readonly location: string;
  private readonly client: S3Client;

  constructor(
    private readonly bucket: string,
    client: S3Client,
    private readonly idleMs = DEFAULT_IDLE_MS,
    private readonly copyLimits = S3_COPY_LIMITS,
  ) {
    this.client = client;
    this.location = `s3://${bucket}`;
  }

  static fromConfig(storage: StoreConfig, answerWithinMs?: number): S3Storage {
    const minio = storage.type === 'minio';
    const endpoint = storage.endpoint
      ? /^https?:\/\//.test(storage.endpoint) ? storage.endpoint : `${storage.use_ssl ? 'https' : 'http'}://${storage.endpoint}`
      : undefined;
    const idleMs = answerWithinMs ?? storage.idle_timeout_seconds * 1000;
    const client = new S3Client({
      region: storage.region,
      endpoint,
      forcePathStyle: minio,
      // Empty keys fall through to the AWS default credential chain (env, profile, IMDS).
      credentials: storage.access_key ? { accessKeyId: storage.access_key, secretAccessKey: storage.secret_key } : undefined,
      maxAttempts: answerWithinMs ? 1 : 3,
      // requestTimeout is the socket's idle time, so long transfers that keep moving bytes are never cut.
      requestHandler: {
        connectionTimeout: answerWithinMs ?? CONNECT_TIMEOUT_MS,
        requestTimeout: idleMs,
        throwOnRequestTimeout: true,
      },
    });
    return new S3Storage(storage.bucket, client, idleMs);
  }

  async bucketExists(): Promise<boolean> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw this.unreachable(err);
    }
  }

  async createBucket(): Promise<boolean> {
    if (await this.bucketExists()) return false;
    const region = await this.client.config.region();
    try {
      await this.client.send(
        new CreateBucketCommand({
          Bucket: this.bucket,
          // AWS refuses a create outside us-east-1 that does not name its region; MinIO ignores it.
          CreateBucketConfiguration: region && region !== 'us-east-1' ? { LocationConstraint: region as BucketLocationConstraint } : undefined,
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof BucketAlreadyOwnedByYou) return false; // another process created it first
      throw this.unreachable(err);
    }
  }

  /** Refused credentials (bucket calls answer with no message) and network failures as one-line errors. */
  private unreachable(err: unknown): unknown {
    if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 403) {
      return new InputError(`the object store refused access to ${this.location} (check S3_ACCESS_KEY and S3_SECRET_KEY)`, { cause: err });
    }
    if (err instanceof S3ServiceException) return err;
    return new ServiceError(`cannot reach the object store for ${this.location}: ${errorMessage(err)}`, { cause: err });
  }


  /** A full store or quota is a StorageFullError naming the bucket and object, so workflows stop retrying. */
  private async writing<T>(key: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      throw s3NoRoomError(err, this.location, key) ?? err;
    }
  }

  /** One PutObject for a small body, else a multipart upload that is aborted (its parts deleted) on failure. */
  async put(key: string, body: Readable | string, options: { contentType?: string } = {}): Promise<void> {
    const upload = new Upload({
      client: this.client,
      // Every part carries its CRC32, which the store checks on arrival (see UploadCrc).
      params: { Bucket: this.bucket, Key: assertSafeKey(key), Body: body, ContentType: options.contentType, ChecksumAlgorithm: 'CRC32' },
      partSize: UPLOAD_PART_SIZE,
      queueSize: 2,
      leavePartsOnError: false,
    });
    await this.writing(key, () => upload.done());
  }

  async putIfAbsent(key: string, body: string): Promise<boolean> {
    try {
      await this.writing(key, () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: assertSafeKey(key), Body: body, IfNoneMatch: '*' })));
      return true;
    } catch (err) {
      if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 412) return false;
      throw err;
    }
  }

  /** The object's bytes; a body that stops arriving for the idle timeout errors (the request timeout ends at the headers). */
  async get(key: string, range?: ByteRange): Promise<Readable> {
    const Range = range ? `bytes=${range.start}-${range.end - 1}` : undefined;
    const out = await this.client
      .send(new GetObjectCommand({ Bucket: this.bucket, Key: assertSafeKey(key), Range }))
      .catch((err: unknown) => Promise.reject(this.unreachable(err)));
    const seconds = this.idleMs / 1000;
    return watchIdle(out.Body as Readable, this.idleMs, () => new ServiceError(`${this.location}/${key}: no byte of the download for ${seconds} s (storage.idle_timeout_seconds)`));
  }

  async getText(key: string): Promise<string | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: assertSafeKey(key) }));
      return await out.Body!.transformToString('utf8');
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: assertSafeKey(key), ChecksumMode: 'ENABLED' }));
      return { key, size: out.ContentLength ?? 0, ...(out.ChecksumCRC32 && { crc32: out.ChecksumCRC32 }) };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const objects: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const page = await this.client
        .send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }))
        .catch((err: unknown) => Promise.reject(this.unreachable(err)));
      for (const o of page.Contents ?? []) objects.push({ key: o.Key!, size: o.Size ?? 0 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return objects;
  }

  async listPrefixes(prefix: string): Promise<string[]> {
    const prefixes: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }),
      );
      for (const p of page.CommonPrefixes ?? []) prefixes.push(p.Prefix!);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return prefixes;
  }

  /**
   * A server-side copy, as one CopyObject or, for an object over copyLimits.singleMaxBytes (a
   * large table in one object), as part copies of a multipart upload that is aborted on failure.
   * Each part copy names the source's ETag, so a source replaced mid-copy fails the copy instead
   * of mixing two objects.
   */
  async copy(fromKey: string, toKey: string): Promise<void> {
    const CopySource = `${this.bucket}/${encodeURIComponent(assertSafeKey(fromKey)).replaceAll('%2F', '/')}`;
    const Key = assertSafeKey(toKey);
    await this.writing(toKey, async () => {
      const source = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: fromKey })).catch((err: unknown) => {
        throw isMissing(err) ? new SeedvaultError(`cannot copy ${this.location}/${fromKey} to ${toKey}: no such object`, { cause: err }) : err;
      });
      const size = source.ContentLength ?? 0;
      const changed = (err: unknown) => {
        const replaced = err instanceof S3ServiceException && err.$metadata.httpStatusCode === 412;
        return replaced ? new SeedvaultError(`${this.location}/${fromKey} changed while it was copied to ${toKey}; nothing was written`, { cause: err }) : err;
      };
      if (size <= this.copyLimits.singleMaxBytes) {
        await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key, CopySource, CopySourceIfMatch: source.ETag })).catch((err: unknown) => {
          throw changed(err);
        });
        return;
      }
      const partBytes = Math.max(this.copyLimits.partBytes, Math.ceil(size / MAX_PARTS));
      const ranges = Array.from({ length: Math.ceil(size / partBytes) }, (_, i) => `bytes=${i * partBytes}-${Math.min(size, (i + 1) * partBytes) - 1}`);
      const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key, ContentType: source.ContentType }));
      const started: Promise<unknown>[] = [];
      let failed = false;
      try {
        const parts = await mapWithConcurrency(ranges, PART_COPIES_AT_ONCE, async (CopySourceRange, i) => {
          if (failed) throw new Error('not started: another part copy failed');
          const copying = this.client.send(
            new UploadPartCopyCommand({ Bucket: this.bucket, Key, UploadId, PartNumber: i + 1, CopySource, CopySourceRange, CopySourceIfMatch: source.ETag }),
          );
          started.push(copying);
          const out = await copying.catch((err: unknown) => {
            failed = true;
            throw err;
          });
          return { PartNumber: i + 1, ETag: out.CopyPartResult!.ETag };
        });
        await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
      } catch (err) {
        failed = true;
        // A part copy still in flight could land after the abort and leave its data behind.
        await Promise.allSettled(started);
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId })).catch(() => {});
        throw changed(err);
      }
    });
  }

  async delete(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000).map((Key) => ({ Key: assertSafeKey(Key) }));
      const out = await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch, Quiet: true } }));
      if (out.Errors?.length) throw new Error(`delete failed for ${out.Errors[0]!.Key}: ${out.Errors[0]!.Message}`);
    }
  }
}

