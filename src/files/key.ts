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

function readKey(source: { env: string } | { file: string }, configKey: string, env: NodeJS.ProcessEnv): MasterKey {
  let key: Buffer;
  if ('env' in source) {
    const value = env[source.env];
    if (!value) throw new InputError(`${configKey}: environment variable ${source.env} is not set`);
    key = decodeKey(value, `environment variable ${source.env}`);
  } else {
    let text: string;
    try {
      text = readFileSync(source.file, 'utf8');
    } catch (err) {
      throw new InputError(`${configKey}: cannot read ${source.file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    key = decodeKey(text, `key file ${source.file}`);
  }
  return { key, id: keyId(key) };
}

/**
 * Loads the master key from the environment variable or key file the config names. The
 * key lives outside the backup storage by construction: it is only ever read from here.
 */
export function loadMasterKey(source: KeySource, env: NodeJS.ProcessEnv = process.env): MasterKey {
  if (source.key_env) return readKey({ env: source.key_env }, 'file_backups.encryption.key_env', env);
  if (source.key_file) return readKey({ file: source.key_file }, 'file_backups.encryption.key_file', env);
  throw new InputError('file_backups.encryption: set key_env or key_file');
}

/** Every key that may open a backup: the current one (when set), then the rotated-out ones. */
export function loadKeyring(source: KeySource & { previous_key_envs?: string[]; previous_key_files?: string[] }, env: NodeJS.ProcessEnv = process.env): MasterKey[] {
  const keys = source.key_env || source.key_file ? [loadMasterKey(source, env)] : [];
  for (const name of source.previous_key_envs ?? []) keys.push(readKey({ env: name }, 'file_backups.encryption.previous_key_envs', env));
  for (const file of source.previous_key_files ?? []) keys.push(readKey({ file }, 'file_backups.encryption.previous_key_files', env));
  return keys;
}
