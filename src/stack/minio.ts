import type { S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureInstalled, goInstall } from './install.js';
import type { StackPaths } from './paths.js';
import { HOST, httpStatus, pickPort, portAnswers, waitUntil } from './ports.js';
import { cleanEnv, isAlive, spawnDetached, startFailure, stopProcessGroup } from './process.js';
import type { MinioRecord } from './state.js';

/** MinIO publishes no tagged Go module versions any more: pin a commit pseudo-version. */
const MINIO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';
const READY_TIMEOUT_MS = 60_000;

export function minioBinary(cacheDir: string): Promise<string> {
  return ensureInstalled(join(cacheDir, `minio-${MINIO_VERSION}`), 'minio', `minio ${MINIO_VERSION} (go install)`, (tmp) =>
    goInstall(tmp, `github.com/minio/minio@${MINIO_VERSION}`, cacheDir),
  );
}

export function minioEndpoint(rec: MinioRecord): string {
  return `http://${HOST}:${rec.port}`;
}

export async function minioIsRunning(rec: MinioRecord): Promise<boolean> {
  return rec.pid !== null && isAlive(rec.pid, 'minio') && (await portAnswers(rec.port));
}

/** Starts MinIO on the recorded ports when free (always, with `samePorts`); credentials are made once and kept. */
export async function startMinio(paths: StackPaths, prev: MinioRecord | undefined, samePorts: boolean): Promise<MinioRecord> {
  const binary = await minioBinary(paths.cacheDir);
  const rec: MinioRecord = {
    pid: null,
    port: samePorts && prev ? prev.port : await pickPort(prev?.port),
    consolePort: samePorts && prev ? prev.consolePort : await pickPort(prev?.consolePort),
    binary,
    dataDir: join(paths.stateDir, 'minio', 'data'),
    logFile: join(paths.stateDir, 'minio.log'),
    accessKey: prev?.accessKey ?? 'seedvault',
    secretKey: prev?.secretKey ?? randomBytes(24).toString('hex'),
    bucket: prev?.bucket ?? 'seeds',
    region: prev?.region ?? 'us-east-1',
  };
  mkdirSync(rec.dataDir, { recursive: true });
  const args = ['server', rec.dataDir, '--address', `${HOST}:${rec.port}`, '--console-address', `${HOST}:${rec.consolePort}`, '--quiet'];
  const env = cleanEnv({ MINIO_ROOT_USER: rec.accessKey, MINIO_ROOT_PASSWORD: rec.secretKey, MINIO_UPDATE: 'off', MINIO_BROWSER_REDIRECT: 'off' });
  rec.pid = spawnDetached(binary, args, rec.logFile, env);

  const died = () => {
    if (!isAlive(rec.pid!)) throw startFailure('minio', 'process exited during startup', rec.logFile);
  };
  const ready = async () => (await httpStatus(`${minioEndpoint(rec)}/minio/health/ready`)) === 200;
  try {
    if (!(await waitUntil(ready, READY_TIMEOUT_MS, died))) {
      throw startFailure('minio', `not ready on ${minioEndpoint(rec)} after ${READY_TIMEOUT_MS / 1000}s`, rec.logFile);
    }
  } catch (err) {
    await stopProcessGroup(rec.pid, 2000).catch(() => {}); // never leave an unrecorded server behind
    throw err;
  }
  return rec;
}

/** Loaded on use: the AWS SDK takes ~0.2 s to load, and every CLI command loads this module through the stack's status. */
export async function minioClient(rec: MinioRecord): Promise<S3Client> {
  const { S3Client } = await import('@aws-sdk/client-s3');
  return new S3Client({
    endpoint: minioEndpoint(rec),
    region: rec.region,
    forcePathStyle: true,
    credentials: { accessKeyId: rec.accessKey, secretAccessKey: rec.secretKey },
  });
}

/** Creates the bucket unless it exists; cheap enough to run on every `up`. */
export async function ensureBucket(rec: MinioRecord): Promise<void> {
  const s3 = await minioClient(rec);
  const { S3Storage } = await import('../storage/s3.js');
  try {
    await new S3Storage(rec.bucket, s3).createBucket();
  } finally {
    s3.destroy();
  }
}

export async function stopMinio(rec: MinioRecord): Promise<void> {
  if (rec.pid !== null && isAlive(rec.pid, 'minio')) await stopProcessGroup(rec.pid);
}
