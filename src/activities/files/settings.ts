import type { SeedvaultConfig } from '../../config/schema.js';
import { backupTypeProblem } from '../../domain/file-backup-id.js';
import { InputError } from '../../errors.js';
import { fileBackupStorage } from '../../files/catalog.js';
import type { MasterKey } from '../../files/encryption.js';
import { loadKeyring, loadMasterKey } from '../../files/key.js';
import type { Storage } from '../../storage/types.js';
import type { ActivityDeps } from '../deps.js';

/** What one backup of a type reads and how it stores it. */
export interface FileBackupJob {
  type: string;
  sources: string[];
  compress: boolean;
  description: string;
}

/**
 * The jobs for a run: the named types (all enabled ones when none are named). `source`
 * replaces a single type's configured sources and may name a type the config lacks (a
 * custom, one-off type).
 */
export function fileBackupJobs(config: SeedvaultConfig, input: { types?: string[]; source?: string; description?: string }): FileBackupJob[] {
  const configured = config.file_backups.types;
  const names = input.types?.length ? input.types : Object.keys(configured).filter((t) => configured[t]!.enabled);
  if (names.length === 0) throw new InputError('no file backup types are enabled; add file_backups.types to the config or pass --type');
  if (input.source && names.length !== 1) throw new InputError('--source needs exactly one --type');
  return names.map((type) => {
    const problem = backupTypeProblem(type);
    if (problem) throw new InputError(`invalid backup type "${type.slice(0, 40)}": ${problem}`);
    const entry = configured[type];
    if (!entry && !input.source) throw new InputError(`unknown file backup type "${type}" (configured: ${Object.keys(configured).join(', ') || 'none'}); pass --source for a custom type`);
    return {
      type,
      sources: input.source ? [input.source] : entry!.sources,
      compress: entry?.compress ?? true,
      description: input.description ?? entry?.description ?? '',
    };
  });
}

/** The file backup storage and key access every file activity uses: the current key encrypts, the keyring opens. */
export function fileBackupContext({ config, storage }: ActivityDeps): { files: Storage; loadKey: () => MasterKey; loadKeys: () => MasterKey[] } {
  return {
    files: fileBackupStorage(config, storage),
    loadKey: () => loadMasterKey(config.file_backups.encryption),
    loadKeys: () => loadKeyring(config.file_backups.encryption),
  };
}
