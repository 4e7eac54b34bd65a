import { pickAtPointInTime } from '../../domain/file-backup-selection.js';
import { InputError } from '../../errors.js';
import { assertBackupId, listFileBackups, requireMetadata } from '../../files/catalog.js';
import { restoreFileBackup, type RestoreResult } from '../../files/restore.js';
import type { ActivityDeps } from '../deps.js';
import { withHeartbeat } from '../heartbeat.js';
import { fileBackupContext } from './settings.js';

export interface RestoreTarget {
  backup_id: string;
  backup_type: string;
  timestamp: string;
}

export function fileRestoreActivities(deps: ActivityDeps) {
  const { files, loadKeys } = fileBackupContext(deps);
  return {
    /** One backup by id, or per type the newest complete backup at or before `at`. */
    async planFileRestore(input: { id?: string; types?: string[]; at?: string }): Promise<RestoreTarget[]> {
      if (input.id) {
        const metadata = await requireMetadata(files, assertBackupId(input.id));
        return [{ backup_id: metadata.backup_id, backup_type: metadata.backup_type, timestamp: metadata.timestamp }];
      }
      if (!input.at) throw new InputError('restore needs --id, or --at (with or without --type)');
      const picked = pickAtPointInTime(await listFileBackups(files), new Date(input.at), input.types?.length ? input.types : undefined);
      if (picked.size === 0) throw new InputError(`no complete file backup${input.types?.length ? ` of ${input.types.join(', ')}` : ''} at or before ${input.at}`);
      return [...picked.values()].map(({ backup_id, backup_type, timestamp }) => ({ backup_id, backup_type, timestamp }));
    },

    async restoreStoredFileBackup(input: { id: string; dest: string; overwrite: boolean }): Promise<RestoreResult> {
      return withHeartbeat(() => ({ restoring: input.id }), () => restoreFileBackup(files, input, loadKeys));
    },
  };
}
