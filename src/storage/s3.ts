import type { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { SeedvaultConfig } from '../config/schema.js';
import { assertSafeKey } from './keys.js';
import type { ObjectInfo, Storage } from './types.js';

/** S3's minimum part size: each in-flight part is a buffer, so small parts keep memory flat. */
const PART_SIZE = 5 * 1024 * 1024;

function isMissing(err: unknown): boolean {
  return err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata.httpStatusCode === 404);
}

/** S3 and MinIO (path-style addressing, explicit endpoint) behind the Storage interface. */
export class S3Storage implements Storage {
  readonly location: string;
  private readonly client: S3Client;

  constructor(private readonly bucket: string, client: S3Client) {
    this.client = client;
    this.location = `s3://${bucket}`;
  }

  static fromConfig(storage: SeedvaultConfig['storage'], answerWithinMs?: number): S3Storage {
    const minio = storage.type === 'minio';
    const endpoint = storage.endpoint
      ? /^https?:\/\//.test(storage.endpoint) ? storage.endpoint : `${storage.use_ssl ? 'https' : 'http'}://${storage.endpoint}`
      : undefined;
    const client = new S3Client({
      region: storage.region,
      endpoint,
      forcePathStyle: minio,
      // Empty keys fall through to the AWS default credential chain (env, profile, IMDS).
      credentials: storage.access_key ? { accessKeyId: storage.access_key, secretAccessKey: storage.secret_key } : undefined,
      maxAttempts: answerWithinMs ? 1 : 3,
      ...(answerWithinMs ? { requestHandler: { connectionTimeout: answerWithinMs, requestTimeout: answerWithinMs, throwOnRequestTimeout: true } } : {}),
    });
    return new S3Storage(storage.bucket, client);
  }

  async put(key: string, body: Readable | string, options: { contentType?: string } = {}): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: assertSafeKey(key), Body: body, ContentType: options.contentType },
      partSize: PART_SIZE,
      queueSize: 2,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  async putIfAbsent(key: string, body: string): Promise<boolean> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: assertSafeKey(key), Body: body, IfNoneMatch: '*' }));
      return true;
    } catch (err) {
      if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 412) return false;
      throw err;
    }
  }

  async get(key: string): Promise<Readable> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: assertSafeKey(key) }));
    return out.Body as Readable;
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
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: assertSafeKey(key) }));
      return { key, size: out.ContentLength ?? 0 };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const objects: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
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

  async copy(fromKey: string, toKey: string): Promise<void> {
    await this.client.send(
      new CopyObjectCommand({
        Bucket: this.bucket,
        Key: assertSafeKey(toKey),
        CopySource: `${this.bucket}/${encodeURIComponent(assertSafeKey(fromKey)).replaceAll('%2F', '/')}`,
      }),
    );
  }

  async delete(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000).map((Key) => ({ Key: assertSafeKey(Key) }));
      const out = await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch, Quiet: true } }));
      if (out.Errors?.length) throw new Error(`delete failed for ${out.Errors[0]!.Key}: ${out.Errors[0]!.Message}`);
    }
  }
}

