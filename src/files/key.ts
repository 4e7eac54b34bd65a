import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { InputError } from '../errors.js';
import type { MasterKey } from './encryption.js';

export interface KeySource {
  key_env?: string | undefined;
  key_file?: string | undefined;
}

/** The key's public fingerprint: an HMAC of a fixed label, so it cannot be turned back into the key. */
export function keyId(key: Buffer): string {
  return createHmac('sha256', key).update('seedvault file backup key id').digest('hex').slice(0, 16);
}

/** 32 bytes as 64 hex chars or base64; anything else is refused (messages never echo the value). */
function decodeKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) throw new InputError(`${where}: the encryption key must be 32 bytes as 64 hex characters or base64`);
  return key;
}

/**
 * Loads the master key from the environment variable or key file the config names. The
 * key lives outside the backup storage by construction: it is only ever read from here.
 */
export function loadMasterKey(source: KeySource, env: NodeJS.ProcessEnv = process.env): MasterKey {
  let key: Buffer;
  if (source.key_env) {
    const value = env[source.key_env];
    if (!value) throw new InputError(`file_backups.encryption.key_env: environment variable ${source.key_env} is not set`);
    key = decodeKey(value, `environment variable ${source.key_env}`);
  } else if (source.key_file) {
    let text: string;
    try {
      text = readFileSync(source.key_file, 'utf8');
    } catch (err) {
      throw new InputError(`file_backups.encryption.key_file: cannot read ${source.key_file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    key = decodeKey(text, `key file ${source.key_file}`);
  } else {
    throw new InputError('file_backups.encryption: set key_env or key_file');
  }
  return { key, id: keyId(key) };
}
