import { Context } from '@temporalio/activity';
import { backupIdFor } from '../../domain/file-backup-id.js';
import { backupPrefix } from '../../domain/file-backup-metadata.js';
import { claimBackupId, readMetadata } from '../../files/catalog.js';
import { createFileBackup } from '../../files/create.js';
import { clearNothingToBackUp, recordNothingToBackUp } from '../../files/nothing-to-back-up.js';
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

    /** The id for a backup started at `at`; a retry of the same owner gets the same id back. */
    async claimFileBackupId(input: { type: string; at: string; owner: string }): Promise<string> {
      return claimBackupId(files, backupIdFor(input.type, new Date(input.at)), input.owner);
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
      return {
        backup_id: metadata.backup_id,
        backup_type: metadata.backup_type,
        archive: metadata.archive.file,
        size_bytes: metadata.size_bytes,
        entries: metadata.files.length,
        encrypted: metadata.encryption !== null,
      };
    },

    /** After a failed attempt: removes the claim and any partial archive, unless the backup completed. */
    async discardIncompleteFileBackup(input: { id: string }): Promise<void> {
      if (!(await readMetadata(files, input.id))) await files.delete((await files.list(backupPrefix(input.id))).map((o) => o.key));
    },

    /** Reads the stored backup back: archive sha256, then every file's sha256. */
    async verifyStoredFileBackup(input: { id: string }): Promise<VerifyResult> {
      return withHeartbeat(() => ({ verifying: input.id }), () => verifyFileBackup(files, input.id, loadKeys));
    },
  };
}
