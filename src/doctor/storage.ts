import { randomUUID } from 'node:crypto';
import { S3ServiceException } from '@aws-sdk/client-s3';
import type { SeedvaultConfig } from '../config/schema.js';
import { green, red, skipped, yellow, type DoctorCheck } from '../domain/doctor.js';
import { snapshotHealth } from '../quality/health.js';
import { createStorage, type Storage } from '../storage/index.js';
import { SNAPSHOT_SCHEDULE_ID } from '../temporal/schedules.js';
import { judged, STEP_SECONDS } from './bounded.js';

/** Written, read back and deleted by the probe; never listed as a snapshot or a file backup. */
const PROBE_PREFIX = '.seedvault-doctor/';

async function probe(storage: Storage): Promise<DoctorCheck> {
  const key = `${PROBE_PREFIX}${randomUUID()}`;
  const body = `seedvault doctor ${new Date().toISOString()}`;
  const started = Date.now();
  await storage.put(key, body);
  const back = await storage.getText(key);
  await storage.delete([key]);
  if (back !== body) return red('storage', `${storage.location}: the probe object read back ${back === null ? 'missing' : 'different'}`, 'check the object store (versioning, replication, a proxy in front of it)');
  return green('storage', `${storage.location}: put, get and delete answered (${Date.now() - started} ms)`);
}

/** Why the object store refused or did not answer, and what to do about it. */
function storageProblem(check: string, config: SeedvaultConfig, location: string, message: string, err: unknown): DoctorCheck {
  const { storage } = config;
  if (storage.type === 'local') return red(check, `${location}: ${message}`, 'make the folder writable, or fix storage.local_path (SEEDVAULT_LOCAL_SEEDS)', 'config');
  if (err instanceof S3ServiceException && err.$metadata.httpStatusCode) {
    if (err.name === 'NoSuchBucket') {
      return red(check, `bucket ${storage.bucket} does not exist`, 'run: seedvault setup (it creates the bucket), or fix storage.bucket (S3_BUCKET)', 'config');
    }
    if (err.$metadata.httpStatusCode === 403) {
      return red(check, `${location}: ${err.name}: the credentials were refused`, 'check storage.access_key and secret_key (S3_ACCESS_KEY, S3_SECRET_KEY) and the bucket policy', 'config');
    }
    return red(check, `${location}: ${err.name} (HTTP ${err.$metadata.httpStatusCode})`, 'check the object store and its logs', 'service');
  }
  const endpoint = storage.endpoint || `S3 (${storage.region})`;
  // The SDK's timeout message carries a logger prefix: "@smithy/node-http-handler - [ERROR] a request has ..."
  return red(check, `cannot reach ${endpoint}: ${message.replace(/^@\S+ - \[\w+\] /, '')}`, 'start MinIO / the object store, or fix storage.endpoint (S3_ENDPOINT)', 'service');
}

/** The bucket (or folder) answers a put/get/delete probe; the latest snapshot's age. */
export async function storageChecks(config: SeedvaultConfig, now: Date): Promise<DoctorCheck[]> {
  const storage = createStorage(config.storage, (STEP_SECONDS - 1) * 1000);
  const reach = await judged('the object store', () => probe(storage), (message, err) => storageProblem('storage', config, storage.location, message, err));
  if (reach.status === 'red') return [reach, skipped('latest snapshot', 'the object store does not answer')];
  const latest = await judged(
    'the object store',
    async () => {
      const age = (await snapshotHealth(storage, now, false, config.quality))[0]!;
      const fix = `take one: seedvault snapshot create --wait (and see schedule ${SNAPSHOT_SCHEDULE_ID})`;
      if (age.status === 'green') return green('latest snapshot', age.details);
      return age.status === 'yellow' ? yellow('latest snapshot', age.details, fix) : red('latest snapshot', age.details, fix);
    },
    (message, err) => storageProblem('latest snapshot', config, storage.location, message, err),
  );
  return [reach, latest];
}
