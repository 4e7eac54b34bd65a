import { randomUUID } from 'node:crypto';
import { S3ServiceException } from '@aws-sdk/client-s3';
import type { SeedvaultConfig, StoreConfig } from '../config/schema.js';
import { green, red, skipped, yellow, type DoctorCheck } from '../domain/doctor.js';
import { snapshotHealth } from '../quality/health.js';
import { createStorage, type Storage } from '../storage/index.js';
import { SNAPSHOT_SCHEDULE_ID } from '../temporal/schedules.js';
import { judged, STEP_SECONDS } from './bounded.js';

/** Written, read back and deleted by the probe; never listed as a snapshot or a file backup. */
const PROBE_PREFIX = '.seedvault-doctor/';

async function probe(check: string, storage: Storage): Promise<DoctorCheck> {
  const key = `${PROBE_PREFIX}${randomUUID()}`;
  const body = `seedvault doctor ${new Date().toISOString()}`;
  const started = Date.now();
  await storage.put(key, body);
  const back = await storage.getText(key);
  await storage.delete([key]);
  if (back !== body) return red(check, `${storage.location}: the probe object read back ${back === null ? 'missing' : 'different'}`, 'check the object store (versioning, replication, a proxy in front of it)');
  return green(check, `${storage.location}: put, get and delete answered (${Date.now() - started} ms)`);
}

/** The settings a fix names, per store: the primary's with the shipped config's environment variables. */
const SETTINGS = {
  primary: {
    folder: 'storage.local_path (SEEDVAULT_LOCAL_SEEDS)',
    bucket: 'storage.bucket (S3_BUCKET)',
    keys: 'storage.access_key and secret_key (S3_ACCESS_KEY, S3_SECRET_KEY)',
    endpoint: 'storage.endpoint (S3_ENDPOINT)',
  },
  mirror: {
    folder: 'storage.mirror.local_path',
    bucket: 'storage.mirror.bucket',
    keys: 'storage.mirror.access_key and secret_key',
    endpoint: 'storage.mirror.endpoint',
  },
};

/** Why a store refused or did not answer, and what to do about it. */
function storageProblem(check: string, store: StoreConfig, settings: (typeof SETTINGS)['primary'], location: string, message: string, err: unknown): DoctorCheck {
  if (store.type === 'local') return red(check, `${location}: ${message}`, `make the folder writable, or fix ${settings.folder}`, 'config');
  if (err instanceof S3ServiceException && err.$metadata.httpStatusCode) {
    if (err.name === 'NoSuchBucket') {
      return red(check, `bucket ${store.bucket} does not exist`, `run: seedvault setup (it creates the bucket), or fix ${settings.bucket}`, 'config');
    }
    if (err.$metadata.httpStatusCode === 403) {
      return red(check, `${location}: ${err.name}: the credentials were refused`, `check ${settings.keys} and the bucket policy`, 'config');
    }
    return red(check, `${location}: ${err.name} (HTTP ${err.$metadata.httpStatusCode})`, 'check the object store and its logs', 'service');
  }
  const endpoint = store.endpoint || `S3 (${store.region})`;
  // The SDK's timeout message carries a logger prefix: "@smithy/node-http-handler - [ERROR] a request has ..."
  return red(check, `cannot reach ${endpoint}: ${message.replace(/^@\S+ - \[\w+\] /, '')}`, `start MinIO / the object store, or fix ${settings.endpoint}`, 'service');
}

/** `storage.mirror` answers the same probe (no line without a mirror). */
async function mirrorChecks(config: SeedvaultConfig): Promise<DoctorCheck[]> {
  const { mirror } = config.storage;
  if (!mirror) return [];
  const storage = createStorage(mirror, (STEP_SECONDS - 1) * 1000);
  return [await judged('the mirror store', () => probe('mirror storage', storage), (message, err) => storageProblem('mirror storage', mirror, SETTINGS.mirror, storage.location, message, err))];
}

/** The bucket (or folder) and the mirror answer a put/get/delete probe; the latest snapshot's age. */
export async function storageChecks(config: SeedvaultConfig, now: Date): Promise<DoctorCheck[]> {
  const [primary, mirror] = await Promise.all([primaryChecks(config, now), mirrorChecks(config)]);
  return [...primary, ...mirror];
}

async function primaryChecks(config: SeedvaultConfig, now: Date): Promise<DoctorCheck[]> {
  const storage = createStorage(config.storage, (STEP_SECONDS - 1) * 1000);
  const problem = (check: string) => (message: string, err: unknown) => storageProblem(check, config.storage, SETTINGS.primary, storage.location, message, err);
  const reach = await judged('the object store', () => probe('storage', storage), problem('storage'));
  if (reach.status === 'red') return [reach, skipped('latest snapshot', 'the object store does not answer')];
  const latest = await judged(
    'the object store',
    async () => {
      const age = (await snapshotHealth(storage, now, false, config.quality))[0]!;
      const fix = `take one: seedvault snapshot create --wait (and see schedule ${SNAPSHOT_SCHEDULE_ID})`;
      if (age.status === 'green') return green('latest snapshot', age.details);
      return age.status === 'yellow' ? yellow('latest snapshot', age.details, fix) : red('latest snapshot', age.details, fix);
    },
    problem('latest snapshot'),
  );
  return [reach, latest];
}
