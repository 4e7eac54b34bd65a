import type { SeedvaultConfig } from '../config/schema.js';
import { LocalStorage } from './local.js';
import { S3Storage } from './s3.js';
import type { Storage } from './types.js';

/** The storage backend `storage.type` names. */
export function createStorage(storage: SeedvaultConfig['storage']): Storage {
  return storage.type === 'local' ? new LocalStorage(storage.local_path) : S3Storage.fromConfig(storage);
}

export type { ObjectInfo, Storage } from './types.js';
