import type { SeedvaultConfig, StoreConfig } from '../config/schema.js';
import { LocalStorage } from './local.js';
import { PrefixedStorage } from './prefixed.js';
import { S3Storage } from './s3.js';
import type { Storage } from './types.js';

/**
 * The storage backend `storage.type` names, under `storage.prefix` when one is set.
 * `answerWithinMs`: each S3 call gets one attempt that fails when the server does not answer
 * in time (for doctor; the jobs keep retrying).
 */
export function createStorage(storage: StoreConfig, answerWithinMs?: number): Storage {
  const backend = storage.type === 'local' ? new LocalStorage(storage.local_path) : S3Storage.fromConfig(storage, answerWithinMs);
  return storage.prefix ? new PrefixedStorage(backend, storage.prefix) : backend;
}

/** The `storage.mirror` store, or null when none is configured. */
export function createMirrorStorage(storage: SeedvaultConfig['storage'], answerWithinMs?: number): Storage | null {
  return storage.mirror ? createStorage(storage.mirror, answerWithinMs) : null;
}

export type { ObjectInfo, Storage } from './types.js';
