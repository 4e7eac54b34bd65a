import type { CleanupPlan } from '../../domain/file-backup-selection.js';
import { cleanupFileBackups } from '../../files/cleanup.js';
import { recordFileBackupsPruned } from '../../files/records.js';
import type { ActivityDeps } from '../deps.js';
import { fileBackupContext } from './settings.js';

export function fileCleanupActivities(deps: ActivityDeps) {
  const { files } = fileBackupContext(deps);
  return {
    async cleanupStoredFileBackups(input: { dryRun: boolean }): Promise<CleanupPlan> {
      return cleanupFileBackups(files, deps.config, new Date(), input.dryRun, (id) => recordFileBackupsPruned(deps.pool, [id]));
    },
  };
}
