import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { RestoreResult } from '../files/restore.js';
import { trackFileRun } from './file-backup-progress.js';

export interface FileRestoreInput {
  /** One backup by id ... */
  id?: string;
  /** ... or per type the newest backup at or before `at` (ISO); no types means every type. */
  types?: string[];
  at?: string;
  /** Absolute path; several types restore into `<dest>/<type>/`. */
  dest: string;
  overwrite: boolean;
}

const quick = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2s', maximumInterval: '1 minute', nonRetryableErrorTypes: ['InputError', 'IntegrityError'] },
});

const { restoreStoredFileBackup } = proxyActivities<Activities>({
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5s', maximumInterval: '2 minutes', maximumAttempts: 5, nonRetryableErrorTypes: ['InputError', 'IntegrityError'] },
});

/** Restores by id or point in time; each archive is verified in full before a byte is written. */
export async function fileRestore(input: FileRestoreInput): Promise<RestoreResult[]> {
  const run = trackFileRun('file-restore', input.types ?? []);
  run.phase('choosing backups');
  const targets = await quick.planFileRestore({ id: input.id, types: input.types, at: input.at });
  const intoTypeFolders = !input.id && targets.length > 1;
  const results: RestoreResult[] = [];
  try {
    for (const target of targets) {
      const dest = intoTypeFolders ? `${input.dest.replace(/\/$/, '')}/${target.backup_type}` : input.dest;
      run.phase(`restoring ${target.backup_id} to ${dest}`);
      const result = await restoreStoredFileBackup({ id: target.backup_id, dest, overwrite: input.overwrite });
      results.push(result);
      run.finished(`${result.backup_id} -> ${result.dest}: ${result.entries} entries`);
    }
  } catch (err) {
    run.phase('failed', 'failed');
    throw err;
  }
  run.phase('completed', 'completed');
  return results;
}
