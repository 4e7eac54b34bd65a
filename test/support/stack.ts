import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../src/config/load.js';
import type { SeedvaultConfig } from '../../src/config/schema.js';
import { startWorker, type RunningWorker } from '../../src/worker.js';

/** A short random suffix for names that must not collide between test files. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * The shipped config pointed at the test stack (env from the test runner) with this
 * test's own database, bucket and task queue, so test files never see each other's data.
 */
export function testConfig(env: Record<string, string>): SeedvaultConfig {
  return loadConfig(DEFAULT_CONFIG_PATH, { ...process.env, ...env });
}

/** An S3 client of the test stack's MinIO (env from the test runner). */
export function testS3Client(): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint: process.env.S3_ENDPOINT,
    forcePathStyle: true,
    credentials: { accessKeyId: process.env.S3_ACCESS_KEY!, secretAccessKey: process.env.S3_SECRET_KEY! },
  });
}

export async function createBucket(name: string): Promise<void> {
  const client = testS3Client();
  await client.send(new CreateBucketCommand({ Bucket: name }));
  client.destroy();
}

/** An in-process worker for a test; stop() shuts it down gracefully. */
export function withWorker(config: SeedvaultConfig): Promise<RunningWorker> {
  return startWorker(config);
}
