import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { CleanupPlan } from '../domain/file-backup-selection.js';
import { trackFileRun } from './file-backup-progress.js';

const { cleanupStoredFileBackups } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '2s', maximumInterval: '1 minute', nonRetryableErrorTypes: ['InputError'] },
});

/** retention_days per type; never the newest complete backup of a type. */
export async function fileBackupCleanup(input: { dryRun: boolean }): Promise<CleanupPlan> {
  const run = trackFileRun('file-backup-cleanup', []);
  run.phase(input.dryRun ? 'planning cleanup (dry run)' : 'cleaning up');
  const plan = await cleanupStoredFileBackups(input);
  for (const d of plan.delete) run.finished(`${input.dryRun ? 'would delete' : 'deleted'} ${d.backup_id} (${d.reason})`);
  run.phase('completed', 'completed');
  return plan;
}
