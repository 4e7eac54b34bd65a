import type { SeedvaultConfig } from '../config/schema.js';
import { green, red, type DoctorCheck } from '../domain/doctor.js';
import { errorMessage } from '../errors.js';
import { loadKeyring, loadMasterKey } from '../files/key.js';

/** The market-data provider's api key, needed as soon as backfill.symbols lists a symbol. */
export function providerKeyCheck(config: SeedvaultConfig): DoctorCheck {
  const symbols = config.backfill.symbols.length;
  if (config.backfill.provider.api_key) return green('provider api key', `set, for ${symbols} backfill symbol(s)`);
  return red('provider api key', `not set, but backfill.symbols lists ${symbols} symbol(s): every backfill fails`, 'set TWELVEDATA_API_KEY (backfill.provider.api_key)', 'config');
}

/** When file backups are encrypted: the current key and every rotated-out key can be read (ids only, never the keys). */
export function fileBackupKeyCheck(config: SeedvaultConfig, env: NodeJS.ProcessEnv): DoctorCheck {
  const encryption = config.file_backups.encryption;
  if (!encryption.enabled) return green('file backup key', 'encryption off');
  try {
    const current = loadMasterKey(encryption, env);
    const previous = loadKeyring({ previous_key_envs: encryption.previous_key_envs, previous_key_files: encryption.previous_key_files }, env);
    const source = encryption.key_env ? `environment variable ${encryption.key_env}` : `file ${encryption.key_file}`;
    return green('file backup key', `key id ${current.id} from ${source}${previous.length ? `; ${previous.length} rotated-out key(s) readable` : ''}`);
  } catch (err) {
    return red('file backup key', errorMessage(err), 'provide the key (64 hex chars or base64 of 32 bytes) where the config says, on this host and the worker', 'config');
  }
}
