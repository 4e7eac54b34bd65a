import { Context } from '@temporalio/activity';
import { backupIdFor } from '../../domain/file-backup-id.js';
import { backupPrefix } from '../../domain/file-backup-metadata.js';
import { claimBackupId, readMetadata, requireMetadata } from '../../files/catalog.js';
import { createFileBackup } from '../../files/create.js';
import { clearNothingToBackUp, recordNothingToBackUp } from '../../files/nothing-to-back-up.js';
import { recordFileBackup, type FileBackupRecord } from '../../files/records.js';
import { nothingToBackUp } from '../../files/sources.js';
import { verifyFileBackup, type VerifyResult } from '../../files/verify.js';
import type { ActivityDeps } from '../deps.js';
import { withHeartbeat } from '../heartbeat.js';
import { fileBackupContext, fileBackupJobs, type FileBackupJob } from './settings.js';

/** A job as planned on the worker's host: why it has nothing to back up, or null. */
export type PlannedFileBackup = FileBackupJob & { nothingToBackUp: string | null };

export interface FileBackupSummary {
  backup_id: string;
  backup_type: string;
  archive: string;
  size_bytes: number;
  entries: number;
  encrypted: boolean;
}

/** The workflow run this activity belongs to, as metadata records it. */
function workflowRef(): { id: string; run_id: string } | null {
  const execution = Context.current().info.workflowExecution;
  return execution ? { id: execution.workflowId, run_id: execution.runId } : null;
}

export function fileBackupActivities(deps: ActivityDeps) {
  const { files, loadKey, loadKeys } = fileBackupContext(deps);
  const encrypt = deps.config.file_backups.encryption.enabled;
  /** The backup's backup_metadata row (issue 16), for the run this activity belongs to. */
  const record = (row: Omit<FileBackupRecord, 'workflowId'>) => recordFileBackup(deps.pool, deps.config, files, { ...row, workflowId: workflowRef()?.id ?? null });
  return {
    async fileBackupPlan(input: { types?: string[]; source?: string; description?: string }): Promise<PlannedFileBackup[]> {
      const cwd = process.cwd();
      // A path named with --source must exist; configured sources may be absent on this host.
      return Promise.all(
        fileBackupJobs(deps.config, input).map(async (job) => ({ ...job, nothingToBackUp: input.source ? null : await nothingToBackUp(job.sources, cwd) })),
      );
    },

    /** Records that a type had nothing to back up, for `files list` and the health check. */
    async recordNothingToBackUp(input: { type: string; at: string; reason: string }): Promise<void> {
      await recordNothingToBackUp(files, { backup_type: input.type, at: input.at, reason: input.reason, workflow: workflowRef() });
    },

    /** The id for a backup started at `at` (a retry of the same owner gets the same id back), recorded as in progress. */
    async claimFileBackupId(input: { type: string; at: string; owner: string }): Promise<string> {
      const id = await claimBackupId(files, backupIdFor(input.type, new Date(input.at)), input.owner);
      await record({ id, status: 'in_progress', metadata: null });
      return id;
    },

    async writeFileBackup(input: { id: string; job: FileBackupJob; timestamp: string }): Promise<FileBackupSummary> {
      let stored = 0;
      const metadata = await withHeartbeat(
        () => ({ storedBytes: stored }),
        () =>
          createFileBackup(
            files,
            {
              id: input.id,
              type: input.job.type,
              sources: input.job.sources,
              cwd: process.cwd(),
              description: input.job.description,
              compress: input.job.compress,
              timestamp: input.timestamp,
              workflow: workflowRef(),
            },
            encrypt ? loadKey() : null,
            (bytes) => (stored = bytes),
          ),
      );
      await clearNothingToBackUp(files, metadata.backup_type);
      await record({ id: input.id, status: 'in_progress', metadata });
      return {
        backup_id: metadata.backup_id,
        backup_type: metadata.backup_type,
        archive: metadata.archive.file,
        size_bytes: metadata.size_bytes,
        entries: metadata.files.length,
        encrypted: metadata.encryption !== null,
      };
    },

    /**
     * After a failed attempt: removes the claim and any partial archive, unless the backup
     * was written (then it stays for a look); either way its row says failed, with why.
     */
    async discardIncompleteFileBackup(input: { id: string; error?: string }): Promise<void> {
      const metadata = await readMetadata(files, input.id);
      if (!metadata) await files.delete((await files.list(backupPrefix(input.id))).map((o) => o.key));
      await record({ id: input.id, status: 'failed', metadata, error: input.error });
    },

    /** Reads the stored backup back: archive sha256, then every file's sha256; then the row says completed. */
    async verifyStoredFileBackup(input: { id: string }): Promise<VerifyResult> {
      const result = await withHeartbeat(() => ({ verifying: input.id }), () => verifyFileBackup(files, input.id, loadKeys));
      await record({ id: input.id, status: 'completed', metadata: await requireMetadata(files, input.id) });
      return result;
    },
  };
}
