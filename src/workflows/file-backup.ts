import { ApplicationFailure, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { causeMessage } from '../errors.js';
import type { FileBackupSummary } from '../activities/files/backup.js';
import { fileBackupFailedAlert } from '../domain/alerts.js';
import type { CleanupPlan } from '../domain/file-backup-selection.js';
import { alertingOnFailure, currentRun } from './alerting.js';
import { trackFileRun } from './file-backup-progress.js';

export interface FileBackupInput {
  /** Types to back up; default every enabled type. */
  types?: string[];
  /** Replaces the configured sources of a single type (an absolute path on the worker). */
  source?: string;
  description?: string;
  /** Who asked: `manual`, `schedule`. */
  trigger?: string;
  /** Apply retention to the backed-up types afterwards (the schedules do). */
  cleanup?: boolean;
}

export interface FileBackupResult {
  backups: FileBackupSummary[];
  /** Types skipped because their configured sources match no file on the worker's host. */
  nothing_to_back_up: { type: string; reason: string }[];
  cleanup: CleanupPlan | null;
}

const NON_RETRYABLE = ['InputError', 'ConfigError', 'IntegrityError', 'StorageFullError'];

const quick = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2s', maximumInterval: '1 minute', nonRetryableErrorTypes: NON_RETRYABLE },
});

/** Archives can be large; the heartbeat timeout is what notices a dead worker. */
const long = proxyActivities<Activities>({
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5s', maximumInterval: '2 minutes', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
});

/**
 * File and directory backups (seed 003): per type, claim `<type>_<YYYYMMDD_HHMMSS>`,
 * stream the archive and metadata.json to storage, read it back to verify. One failing
 * type does not stop the others; the run fails at the end naming every failed type, and
 * raises a `file_backup_failed` alert. A type whose configured sources match no file at all
 * is not a failure: it is recorded as "nothing to back up" (health shows it yellow).
 */
export async function fileBackup(input: FileBackupInput = {}): Promise<FileBackupResult> {
  return alertingOnFailure(() => backUp(input), (error) => fileBackupFailedAlert(currentRun(), error, new Date().toISOString()));
}

async function backUp(input: FileBackupInput): Promise<FileBackupResult> {
  const { workflowId } = workflowInfo();
  const run = trackFileRun('file-backup', input.types ?? []);
  run.phase('planning');
  const jobs = await quick.fileBackupPlan({ types: input.types, source: input.source, description: input.description });
  const backups: FileBackupSummary[] = [];
  const nothing: FileBackupResult['nothing_to_back_up'] = [];
  const failures: string[] = [];
  for (const job of jobs) {
    // Truthy, not `!== null`: a run started before this field existed replays its plan without it.
    if (job.nothingToBackUp) {
      await quick.recordNothingToBackUp({ type: job.type, at: new Date(Date.now()).toISOString(), reason: job.nothingToBackUp });
      nothing.push({ type: job.type, reason: job.nothingToBackUp });
      run.finished(`${job.type}: nothing to back up, ${job.nothingToBackUp}`);
      continue;
    }
    let id: string | null = null;
    try {
      run.phase(`backing up ${job.type}`);
      const at = new Date(Date.now()).toISOString();
      id = await quick.claimFileBackupId({ type: job.type, at, owner: `${workflowId}/${job.type}` });
      const summary = await long.writeFileBackup({ id, job, timestamp: at });
      run.phase(`verifying ${id}`);
      await long.verifyStoredFileBackup({ id });
      backups.push(summary);
      run.finished(`${id}: ${summary.entries} entries, ${summary.size_bytes} bytes${summary.encrypted ? ', encrypted' : ''}`);
    } catch (err) {
      const message = causeMessage(err);
      failures.push(`${job.type}: ${message}`);
      // A failed write must not leave a folder that lists as an (incomplete) backup; its row says failed.
      if (id) await quick.discardIncompleteFileBackup({ id, error: message });
      run.finished(`${job.type} FAILED: ${message}`);
      log.warn('file backup failed', { type: job.type, message });
    }
  }
  let cleanup: CleanupPlan | null = null;
  if (input.cleanup && backups.length > 0) {
    run.phase('cleaning up');
    cleanup = await quick.cleanupStoredFileBackups({ dryRun: false });
  }
  if (failures.length > 0) {
    run.phase('failed', 'failed');
    throw ApplicationFailure.nonRetryable(`file backup failed for ${failures.join('; ')}`, 'FileBackupFailed');
  }
  run.phase('completed', 'completed');
  return { backups, nothing_to_back_up: nothing, cleanup };
}
